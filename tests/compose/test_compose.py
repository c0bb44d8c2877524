# Checks compose/ without a Docker engine: files parse and exist, promtool/amtool accept the configs,
# and every dashboard query names only metrics a real patchstream scrape (or the rules) provides.
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
COMPOSE_FILE = COMPOSE / "docker-compose.yml"
DOCKERFILE = COMPOSE / "Dockerfile"
DASHBOARD_DIR = COMPOSE / "grafana" / "dashboards"
RULES_DIR = REPO / "alerting" / "rules"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from harness import start_without_broker  # noqa: E402

FLAG = "batch-patches-v1"


# ---------------------------------------------------------------- helpers


def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def bind_sources(service):
    """Host paths of a service's bind mounts (named volumes have no '/' and no leading '.')."""
    for volume in service.get("volumes", []):
        source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
        target = volume["target"] if isinstance(volume, dict) else volume.split(":")[1]
        if source.startswith((".", "/")):
            yield (COMPOSE / source).resolve(), target


def dockerfile_instructions():
    """(instruction, arguments) per Dockerfile line, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages():
    """Dockerfile stages: list of (FROM argument, [(instruction, arguments)...])."""
    result = []
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            result.append((rest, []))
        elif result:
            result[-1][1].append((word, rest))
    return result


def apt_packages(run_arguments):
    """Package names an `apt-get install` in a RUN line installs."""
    match = re.search(r"apt-get install ([^&;]*)", run_arguments)
    if not match:
        return []
    return [w for w in match.group(1).split() if not w.startswith("-")]


def dashboards():
    files = sorted(DASHBOARD_DIR.glob("*.json"))
    assert files, "no dashboard JSON in compose/grafana/dashboards"
    return [(f, json.loads(f.read_text())) for f in files]


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def queries(dashboard):
    """(where, PromQL) for every panel target and every query variable."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield f"panel {panel['title']!r} {target.get('refId')}", target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            query = query.get("query") if isinstance(query, dict) else query
            yield f"variable {variable['name']!r}", query


GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def as_promql(query):
    """Grafana query to plain PromQL: variables replaced, label_values(x, label) reduced to x."""
    for name, value in GRAFANA_VARIABLES.items():
        query = query.replace(name, value)
    query = re.sub(r"\$\{?\w+\}?", ".*", query)  # dashboard variables are used in =~ matchers
    match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query, re.S)
    return match.group(1) if match else query


KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
            "offset", "bool", "inf", "nan", "atan2"}


def metric_names(promql):
    """Metric names a PromQL expression selects (functions, labels, keywords and literals removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', promql)
    assert "__name__" not in e, "select metrics by name, not by __name__ matchers, so they can be checked"
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\boffset\s+\S+", " ", e)
    e = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]*", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][\w:]*", e):
        if m.group(0).lower() in KEYWORDS or re.match(r"\s*\(", e[m.end():]):
            continue
        names.add(m.group(0))
    return names


def recording_rules():
    names = set()
    for f in RULES_DIR.glob("*.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


# ---------------------------------------------------------------- a real scrape


@pytest.fixture(scope="module")
def scrape(tmp_path_factory):
    """/metrics text of the real binary, started against an unreachable broker and stopped again."""
    binary = os.environ.get("PATCHSTREAM_BIN")
    if not binary:
        pytest.skip("PATCHSTREAM_BIN not set (CTest sets it to the built patchstream)")
    work = tmp_path_factory.mktemp("scrape")
    port = free_port()
    process = start_without_broker(work, port)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"patchstream exited: {(work / 'patchstream.log').read_text()}"
            try:
                if http_get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no /healthz within 20 s"
            time.sleep(0.1)
        # The flag gauge is set by the loop's first tick (100 ms): wait for it briefly.
        deadline = time.monotonic() + 5
        while True:
            status, text = http_get(base + "/metrics")
            assert status == 200
            if "patchstream_flag_percentage{" in text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        yield text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()  # a shutdown stuck on the unreachable broker must not outlive the test
            process.wait(timeout=5)


def scraped_names(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][\w:]*", line).group(0))
    return names


# ---------------------------------------------------------------- compose file


def test_compose_file_parses_with_the_expected_services():
    services = compose()["services"]
    for name in ("kafka", "kafka-init", "patchstream", "alert-router", "prometheus", "alertmanager",
                 "grafana"):
        assert name in services, name
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}  # KRaft, one node
    assert str(env["KAFKA_NODE_ID"]) == "1"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "CLUSTER_ID" in env
    init = services["kafka-init"]
    assert init["image"] == kafka["image"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["patchstream"]["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    assert services["patchstream"]["build"]["dockerfile"] == "compose/Dockerfile"


def test_every_mounted_and_built_file_exists():
    for name, service in compose()["services"].items():
        for source, target in bind_sources(service):
            assert source.exists(), f"{name}: mounts missing {source} at {target}"
        if "build" in service:
            build = service["build"]
            context = (COMPOSE / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_dockerfile_copies_only_what_exists_and_the_context_sends():
    context = (COMPOSE / compose()["services"]["patchstream"]["build"]["context"]).resolve()
    allowed = [line[1:].rstrip("/") for line in (COMPOSE / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for word, rest in dockerfile_instructions():
        if word == "COPY" and "--from=" not in rest:
            for source in rest.split()[:-1]:
                assert (context / source).exists(), f"COPY {source}: missing in the build context"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by Dockerfile.dockerignore"


def test_dockerfile_is_multistage_bookworm_non_root_with_healthcheck():
    build, runtime = stages()
    assert build[0].startswith("debian:bookworm") and build[0].endswith(" AS build")
    assert runtime[0].startswith("debian:bookworm")
    build_run = " ".join(rest for word, rest in build[1] if word == "RUN")
    for option in ("-DPATCHSTREAM_TESTS=OFF", "-DPATCHSTREAM_BENCHMARKS=OFF", "--target patchstream", "-G Ninja"):
        assert option in build_run, option
    for package in ("cmake", "ninja-build", "librdkafka-dev", "libsimdjson-dev", "prometheus-cpp-dev"):
        assert package in apt_packages(build_run), package
    runtime_packages = [p for word, rest in runtime[1] if word == "RUN" for p in apt_packages(rest)]
    assert not [p for p in runtime_packages if p.endswith("-dev")], runtime_packages
    users = [rest for word, rest in runtime[1] if word == "USER"]
    assert users and not users[-1].split(":")[0] in ("root", "0")
    health = [rest for word, rest in runtime[1] if word == "HEALTHCHECK"]
    assert health and "/healthz" in health[0] and ("curl" in health[0] or "wget" in health[0])
    tool = "curl" if "curl" in health[0] else "wget"
    assert tool in runtime_packages, f"the health check's {tool} is not installed"


def test_runtime_stage_installs_every_shared_library_the_binary_needs():
    """Each library ldd resolves for the real binary comes from a package the runtime stage
    installs, one of their dependencies, or the base image."""
    binary = os.environ.get("PATCHSTREAM_BIN")
    if not binary or not shutil.which("dpkg") or not shutil.which("ldd"):
        pytest.skip("needs PATCHSTREAM_BIN, dpkg and ldd")
    runtime = stages()[1]
    installed = {p for word, rest in runtime[1] if word == "RUN" for p in apt_packages(rest)}
    covered = set(installed) | {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}  # in debian:bookworm-slim
    for package in installed:
        depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True, text=True)
        assert depends.returncode == 0, f"{package}: not a package of this Debian ({depends.stderr.strip()})"
        covered |= {re.split(r"[\s(:]", d.strip())[0] for d in re.split(r"[,|]", depends.stdout) if d.strip()}
    libraries = re.findall(r"=> (/\S+)", subprocess.run(["ldd", binary], capture_output=True, text=True).stdout)
    assert libraries
    for library in libraries:
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(library)], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", library], capture_output=True, text=True)
        assert owner.returncode == 0, f"{library}: no owning package"
        package = owner.stdout.split(":")[0]
        if re.match(r"lib(asan|ubsan|tsan|lsan)\d+", package):
            continue  # a sanitizer build's runtime, not the image's
        assert package in covered, f"{library} ({package}) is not installed by the runtime stage"


# ---------------------------------------------------------------- topics and patchstream config


def test_topic_creation_covers_every_configured_topic():
    topics = tomllib.loads((COMPOSE / "patchstream.toml").read_text())["topics"]
    example = tomllib.loads((REPO / "docs" / "patchstream.example.toml").read_text())["topics"]
    assert topics == example, "compose uses the documented topic names"
    assert len(set(topics.values())) == 9
    script = (COMPOSE / "create-topics.sh").read_text()
    created = {m.group(1): m.group(0) for m in re.finditer(r"^create (\S+) .*$", script, re.M)}
    assert set(created) == set(topics.values())
    assert "cleanup.policy=compact" in created[topics["flags"]]
    assert "cleanup.policy=compact" in created[topics["rollout_evidence"]]
    assert "retention.ms=-1" in created[topics["flag_audit"]]
    assert "kafka-topics.sh" in script and "--if-not-exists" in script
    init = compose()["services"]["kafka-init"]
    assert any(target.endswith("create-topics.sh") for _, target in bind_sources(init))
    subprocess.run(["sh", "-n", str(COMPOSE / "create-topics.sh")], check=True)


def test_container_config_is_valid_for_patchstream():
    config = tomllib.loads((COMPOSE / "patchstream.toml").read_text())
    assert config["flags"]["store"] == "kafka"
    assert config["admin"]["listen"] == "0.0.0.0:9000"
    assert config["admin"]["token_env"] == "PATCHSTREAM_ADMIN_TOKEN" and not config["admin"].get("token_file")
    patchstream = compose()["services"]["patchstream"]
    assert "PATCHSTREAM_ADMIN_TOKEN" in patchstream["environment"]
    assert any(t == "/etc/patchstream/patchstream.toml" for _, t in bind_sources(patchstream))
    binary = os.environ.get("PATCHSTREAM_BIN")
    if not binary:
        pytest.skip("PATCHSTREAM_BIN not set")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHSTREAM_")}
    env["PATCHSTREAM_ADMIN_TOKEN"] = "secret-token"
    shown = subprocess.run([binary, "config", "-c", str(COMPOSE / "patchstream.toml")], capture_output=True,
                           text=True, env=env, timeout=30)
    assert shown.returncode == 0, shown.stderr
    effective = tomllib.loads(shown.stdout)
    assert effective["flags"]["store"] == "kafka" and effective["admin"]["listen"] == "0.0.0.0:9000"
    assert "secret-token" not in shown.stdout


def test_alert_router_service_reads_the_alert_topic_into_alertmanager():
    services = compose()["services"]
    router = services["alert-router"]
    assert router["image"] == services["patchstream"]["image"]
    assert router["command"] == ["alert-router", "-c", "/etc/patchstream/patchstream.toml"]
    assert router["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    assert "alertmanager" in router["depends_on"]
    assert any(t == "/etc/patchstream/patchstream.toml" for _, t in bind_sources(router))
    # Its own admin port: the image's HEALTHCHECK probes 9000, the router's is 9095.
    assert "9095/healthz" in " ".join(router["healthcheck"]["test"])
    assert router["ports"] == ["127.0.0.1:9095:9095"]
    config = tomllib.loads((COMPOSE / "patchstream.toml").read_text())
    assert config["alert_router"]["alertmanagers"] == ["http://alertmanager:9093"]
    assert config["alert_router"]["listen"] == "0.0.0.0:9095"
    prometheus = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    targets = [t for job in prometheus["scrape_configs"] if job["job_name"] == "patchstream-alert-router"
               for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == ["alert-router:9095"]


# ---------------------------------------------------------------- Prometheus and Alertmanager


def test_promtool_accepts_the_prometheus_config_with_the_mounted_rules(tmp_path):
    prometheus = compose()["services"]["prometheus"]
    mounts = {target: source for source, target in bind_sources(prometheus)}
    config_target = next(t for t in mounts if t.endswith("prometheus.yml"))
    config = yaml.safe_load(mounts[config_target].read_text())
    # Lay the files out as the container sees them, then let promtool resolve rule_files.
    for target, source in mounts.items():
        local = tmp_path / target.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.symlink_to(source)
    assert mounts.get("/etc/prometheus/rules") == RULES_DIR
    result = subprocess.run(["promtool", "check", "config", str(tmp_path / config_target.lstrip("/"))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    rule_counts = [int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", result.stdout + result.stderr)]
    assert rule_counts and sum(rule_counts) > 0, "promtool found no rules: rule_files does not resolve"
    assert sum(rule_counts) == sum(
        len(g["rules"]) for f in RULES_DIR.glob("*.yml") for g in yaml.safe_load(f.read_text())["groups"])
    targets = [t for job in config["scrape_configs"] if job["job_name"] == "patchstream"
               for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == ["patchstream:9000"]
    am = [t for a in config["alerting"]["alertmanagers"] for sc in a["static_configs"] for t in sc["targets"]]
    assert am == ["alertmanager:9093"]


def test_amtool_accepts_the_alertmanager_config():
    alertmanager = compose()["services"]["alertmanager"]
    source = next(s for s, t in bind_sources(alertmanager) if t.endswith("alertmanager.yml"))
    result = subprocess.run(["amtool", "check-config", str(source)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# ---------------------------------------------------------------- Grafana


def test_grafana_provisioning_points_at_the_mounted_dashboards_and_datasource():
    grafana = compose()["services"]["grafana"]
    mounts = {target: source for source, target in bind_sources(grafana)}
    provisioning = mounts["/etc/grafana/provisioning"]
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "patchstream.yml").read_text())["providers"]
    paths = [p["options"]["path"] for p in providers]
    assert any(mounts.get(path) == DASHBOARD_DIR for path in paths), (paths, mounts)
    for _, dashboard in dashboards():
        for panel in all_panels(dashboard):
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == prometheus["uid"], panel["title"]
                assert panel.get("targets"), f"panel {panel['title']!r} has no query"


def test_dashboard_covers_the_required_views():
    exprs = [q for _, d in dashboards() for _, q in queries(d)]
    joined = "\n".join(exprs)
    assert re.search(r"sum by \(route\) \(rate\(patchstream_batches_total", joined), "throughput by route"
    assert re.search(r'status=~"rejected\|failed', joined), "error rate"
    for quantile in ("0.95", "0.99"):
        assert re.search(rf"histogram_quantile\({quantile}, .*patchstream_batch_latency_seconds_bucket", joined)
    assert "consumer_lag_records" in joined, "consumer lag"
    assert "patchstream_flag_percentage" in joined, "flag percentage"
    assert re.search(r'ALERTS\{alertstate="firing"', joined), "firing alerts"


def test_dashboard_queries_parse_as_promql(tmp_path):
    """promtool parses each query (as a recording rule) after Grafana's variables are substituted."""
    exprs = [as_promql(q) for _, d in dashboards() for _, q in queries(d)]
    rules = [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metric_name_extraction():
    assert metric_names('histogram_quantile(0.95, sum by (route, le) (rate(a_bucket{x="y(z)"}[5m])))') == {"a_bucket"}
    assert metric_names("x:y:sum / on (job) b offset 1h > 1e3 and vector(0)") == {"x:y:sum", "b"}
    assert metric_names(as_promql('label_values(m{job="p"}, instance)')) == {"m"}


def test_dashboard_queries_name_only_metrics_patchstream_exports(scrape):
    exported = scraped_names(scrape)
    # Sanity: the scrape is patchstream's, with the families the dashboard is built on.
    for name in ("patchstream_batches_total", "patchstream_batch_latency_seconds_bucket",
                 "patchstream_flag_percentage", "process_resident_memory_bytes"):
        assert name in exported, f"{name} not in the real scrape"
    known = exported | recording_rules() | {"ALERTS"}
    for _, dashboard in dashboards():
        for where, query in queries(dashboard):
            names = metric_names(as_promql(query))
            assert names, f"{where}: no metric found in {query!r}"
            unknown = names - known
            assert not unknown, f"{where}: {sorted(unknown)} not exported by patchstream nor recorded by the rules"


def test_readme_shows_how_to_run():
    readme = (COMPOSE / "README.md").read_text()
    assert "docker compose -f compose/docker-compose.yml up --build" in readme
    for url in ("http://localhost:9000", "http://localhost:9090", "http://localhost:9093", "http://localhost:3000"):
        assert url in readme, url
    assert "PATCHSTREAM_ADMIN_TOKEN" in readme
