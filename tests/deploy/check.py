"""Offline checks of the deployment artefacts (called by tests/deploy/run.sh).

Renders k8s/ with `kubectl kustomize` and the Helm chart with helm-python-sdk
(Helm's own Go engine through libhelm_c; no helm binary, no cluster), then
validates every object against the Kubernetes OpenAPI schemas
(kubernetes-validate, --strict) and checks the majlis-specific rules.
Prints one line per check and `N passed, N failed`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = os.environ.get("DEPLOY_K8S_VERSION", "1.32.0")
CHART = ROOT / "deploy/helm/majlis"
HERE = Path(__file__).resolve().parent

MAJLIS = {
    # name: (http, grpc or None, uses database, gateway)
    "auth-svc": (8101, 9101, True, False),
    "channels-svc": (8102, 9102, True, False),
    "onboarding-svc": (8103, 9103, True, False),
    "chat-gateway": (8104, None, False, True),
    "presence-gateway": (8105, None, False, True),
}
WORKLOADS = list(MAJLIS) + ["web"]
UPSTREAM_TO_SVC = {
    "auth": "auth-svc",
    "channels": "channels-svc",
    "onboarding": "onboarding-svc",
    "chat_gateway": "chat-gateway",
    "presence_gateway": "presence-gateway",
}

SERVICE_AUTH_RS = ROOT / "crates/runtime/src/service_auth.rs"


def grpc_policy() -> dict[str, set[str]]:
    """{server: the services majlis-runtime's POLICY lets call it}, read from
    the Rust table itself, so the manifests are checked against the code."""
    text = SERVICE_AUTH_RS.read_text()
    names = dict(re.findall(r'Service::(\w+) => "([a-z-]+)"', text))
    body = text[text.index("pub static POLICY"):]
    body = body[: body.index("];")]
    rules = re.findall(r'rule\(\s*(\w+),\s*"([^"]+)",\s*&\[([^\]]*)\],?\s*\)', body, re.S)
    if not names or not rules or len(rules) != body.count("rule("):
        raise RuntimeError(f"cannot read POLICY from {SERVICE_AUTH_RS}")
    callers: dict[str, set[str]] = {n: set() for n in MAJLIS}
    for server, _path, who in rules:
        callers[names[server]] |= {names[w.strip()] for w in who.split(",") if w.strip()}
    return callers


GRPC_CALLERS = grpc_policy()
# services that call gRPC, and so hold a private key
KEYED = sorted(set().union(*GRPC_CALLERS.values()))
SERVICE_KEY_SECRETS = {f"service-key-{n}" for n in KEYED}

results: list[tuple[bool, str, str]] = []
VERBOSE = os.environ.get("DEPLOY_CHECK_VERBOSE") == "1"


def record(name: str, ok: bool, detail: str = "") -> bool:
    results.append((ok, name, detail))
    if ok:
        print(f"  ok    {name}" + (f"  ({detail})" if detail and VERBOSE else ""))
    else:
        print(f"  FAIL  {name}")
        for line in (detail or "").splitlines()[:40]:
            print(f"          {line}")
    sys.stdout.flush()
    return ok


def check(name: str):
    """Decorator-free helper: run fn, turn exceptions into a failure."""

    def wrap(fn):
        try:
            out = fn()
            if out is None or out is True:
                return record(name, True)
            if isinstance(out, str):
                return record(name, True, out)
            problems = list(out)
            return record(name, not problems, "\n".join(problems))
        except Exception as e:  # noqa: BLE001
            return record(name, False, f"{type(e).__name__}: {e}\n" + (traceback.format_exc() if VERBOSE else ""))

    return wrap


# ------------------------------------------------------------------ helpers
def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def kustomize(path: str) -> str:
    r = subprocess.run(["kubectl", "kustomize", str(ROOT / path)], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout


def helm_render(values_files: list[str], extra: dict | None = None, namespace: str = "majlis") -> str:
    import helm_python as helm

    values: dict = {}
    for f in values_files:
        values = deep_merge(values, helm.values_from_yaml((CHART / f).read_text()))
    if extra:
        values = deep_merge(values, extra)
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values or None, name="majlis", namespace=namespace, is_install=True)
    parts = []
    for path in sorted(out):
        if path.endswith(".yaml") and out[path].strip():
            parts.append(f"# Source: {path}\n{out[path].strip()}\n")
    return "---\n".join(parts)


def deep_merge(a: dict, b: dict) -> dict:
    res = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(res.get(k), dict):
            res[k] = deep_merge(res[k], v)
        else:
            res[k] = v
    return res


def yamllint_text(text: str, conf_file: Path, label: str) -> list[str]:
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    conf = YamlLintConfig(file=str(conf_file))
    return [f"{label}:{p.line}:{p.column}: [{p.level}] {p.desc} ({p.rule})" for p in linter.run(io.StringIO(text), conf) if p.level == "error"]


def validate_docs(docs: list[dict], label: str) -> list[str]:
    import kubernetes_validate

    problems = []
    for d in docs:
        kn = f"{d.get('kind')}/{d.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(d, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            problems.append(f"{label}: {kn}: {path}: {e.message}")
        except Exception as e:  # noqa: BLE001  (schema not found etc.)
            problems.append(f"{label}: {kn}: {type(e).__name__}: {e}")
    return problems


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def base_name(name: str, kind: str) -> str:
    # kustomize generators append a content hash
    if kind in ("ConfigMap", "Secret"):
        return re.sub(r"-[a-z0-9]{10}$", "", name)
    return name


def env_map(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


# ------------------------------------------------------------ majlis rules
def policy_problems(docs: list[dict], label: str, helm: bool) -> list[str]:
    p: list[str] = []
    deps = by_kind(docs, "Deployment")
    svcs = by_kind(docs, "Service")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    cms = {base_name(n, "ConfigMap"): d for n, d in by_kind(docs, "ConfigMap").items()}

    if sorted(deps) != sorted(WORKLOADS):
        p.append(f"Deployments {sorted(deps)} != {sorted(WORKLOADS)}")
    cfg = cms.get("majlis-config", {}).get("data", {})
    if not cfg:
        p.append("no ConfigMap majlis-config")
    if cfg.get("MAJLIS_AUTH_GRPC_URL") != "http://auth-svc:9101":
        p.append("majlis-config: MAJLIS_AUTH_GRPC_URL != http://auth-svc:9101")
    if cfg.get("MAJLIS_CHANNELS_GRPC_URL") != "http://channels-svc:9102":
        p.append("majlis-config: MAJLIS_CHANNELS_GRPC_URL != http://channels-svc:9102")
    if "MAJLIS_SERVICE_PUBLIC_KEYS" not in cfg:
        p.append("majlis-config: no MAJLIS_SERVICE_PUBLIC_KEYS (the gRPC callers' public keys)")
    if "MAJLIS_TOKEN_PUBLIC_KEY" not in cfg:
        p.append("majlis-config: no MAJLIS_TOKEN_PUBLIC_KEY (what every service verifies user tokens with)")
    if cfg.get("MAJLIS_LOG_FORMAT") != "json":
        p.append("majlis-config: MAJLIS_LOG_FORMAT != json")
    window_ms = int(cfg.get("MAJLIS_WS_CLOSE_WINDOW_MS", 5000))
    grace_ms = int(cfg.get("MAJLIS_SHUTDOWN_GRACE_MS", 10000))

    for name, d in deps.items():
        where = f"Deployment/{name}"
        spec = d["spec"]["template"]["spec"]
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            p.append(f"{where}: runAsNonRoot is not true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            p.append(f"{where}: seccompProfile is not RuntimeDefault")
        if name in MAJLIS and psc.get("runAsUser") != 10001:
            p.append(f"{where}: runAsUser != 10001")
        if spec.get("automountServiceAccountToken") is not False:
            p.append(f"{where}: automountServiceAccountToken is not false")
        if len(spec["containers"]) != 1:
            p.append(f"{where}: expected one container")
        c = spec["containers"][0]
        csc = c.get("securityContext", {})
        if csc.get("readOnlyRootFilesystem") is not True:
            p.append(f"{where}: readOnlyRootFilesystem is not true")
        if csc.get("allowPrivilegeEscalation") is not False:
            p.append(f"{where}: allowPrivilegeEscalation is not false")
        if csc.get("capabilities", {}).get("drop") != ["ALL"]:
            p.append(f"{where}: capabilities.drop != [ALL]")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    p.append(f"{where}: resources.{part}.{r} missing")
        ports = {pt["name"]: pt["containerPort"] for pt in c.get("ports", [])}
        live = c.get("livenessProbe", {}).get("httpGet", {})
        ready = c.get("readinessProbe", {}).get("httpGet", {})
        if live.get("path") != "/healthz" or live.get("port") != "http":
            p.append(f"{where}: livenessProbe is not GET /healthz on http")
        if name == "web":
            if ports.get("http") != 8080:
                p.append(f"{where}: web must listen on 8080")
            continue
        http, grpc, db, gw = MAJLIS[name]
        if ready.get("path") != "/readyz" or ready.get("port") != "http":
            p.append(f"{where}: readinessProbe is not GET /readyz on http")
        if ports.get("http") != http:
            p.append(f"{where}: containerPort http != {http}")
        if grpc and ports.get("grpc") != grpc:
            p.append(f"{where}: containerPort grpc != {grpc}")
        if not grpc and "grpc" in ports:
            p.append(f"{where}: unexpected grpc port")
        if grpc:
            probes = [c.get(k, {}) for k in ("startupProbe", "readinessProbe", "livenessProbe")]
            if not any(pr.get("grpc", {}).get("port") == grpc for pr in probes):
                p.append(f"{where}: no grpc probe on port {grpc}")
        env = env_map(c)
        if env.get("MAJLIS_HTTP_ADDR", {}).get("value") != f"0.0.0.0:{http}":
            p.append(f"{where}: MAJLIS_HTTP_ADDR != 0.0.0.0:{http}")
        if grpc and env.get("MAJLIS_GRPC_ADDR", {}).get("value") != f"0.0.0.0:{grpc}":
            p.append(f"{where}: MAJLIS_GRPC_ADDR != 0.0.0.0:{grpc}")
        secret_keys = {"MAJLIS_REDIS_URL": "redis-url"}
        if name == "auth-svc":
            secret_keys["MAJLIS_TOKEN_SIGNING_KEY"] = "token-signing-key"
        elif "MAJLIS_TOKEN_SIGNING_KEY" in env:
            p.append(f"{where}: gets MAJLIS_TOKEN_SIGNING_KEY, but only auth-svc mints tokens")
        if "MAJLIS_JWT_SECRET" in env:
            p.append(f"{where}: gets MAJLIS_JWT_SECRET, which no service reads (tokens are EdDSA)")
        if db:
            secret_keys["MAJLIS_DATABASE_URL"] = "database-url"
        elif "MAJLIS_DATABASE_URL" in env:
            p.append(f"{where}: gets MAJLIS_DATABASE_URL but owns no tables")
        if name in KEYED:
            secret_keys["MAJLIS_SERVICE_KEY"] = f"service-key-{name}"
        elif "MAJLIS_SERVICE_KEY" in env:
            p.append(f"{where}: gets MAJLIS_SERVICE_KEY but calls no gRPC")
        for var, key in secret_keys.items():
            ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
            if ref.get("key") != key or base_name(ref.get("name", ""), "Secret") != "majlis-secrets":
                p.append(f"{where}: {var} is not secretKeyRef majlis-secrets/{key}")
        if not any(base_name(e.get("configMapRef", {}).get("name", ""), "ConfigMap") == "majlis-config" for e in c.get("envFrom", [])):
            p.append(f"{where}: no envFrom configMapRef majlis-config")
        if name == "auth-svc":
            trust = env.get("MAJLIS_TRUST_PROXY_HEADERS", {}).get("value") or cfg.get("MAJLIS_TRUST_PROXY_HEADERS")
            if trust != "true":
                p.append(f"{where}: MAJLIS_TRUST_PROXY_HEADERS is not true")
        pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        tgp = spec.get("terminationGracePeriodSeconds", 30)
        need = pre + grace_ms / 1000 + (window_ms / 1000 if gw else 0)
        if tgp <= need:
            p.append(f"{where}: terminationGracePeriodSeconds {tgp} <= preStop + window + grace = {need}")
        if gw:
            fr = env.get("MAJLIS_INSTANCE_ID", {}).get("valueFrom", {}).get("fieldRef", {})
            if fr.get("fieldPath") != "metadata.name":
                p.append(f"{where}: MAJLIS_INSTANCE_ID is not the pod name")
            if (d["spec"].get("replicas") or hpas.get(name, {}).get("spec", {}).get("minReplicas", 0)) < 2:
                p.append(f"{where}: fewer than 2 replicas")
            h = hpas.get(name)
            if not h:
                p.append(f"{where}: no HorizontalPodAutoscaler")
            else:
                if h["apiVersion"] != "autoscaling/v2" or h["spec"]["scaleTargetRef"]["name"] != name:
                    p.append(f"HPA/{name}: wrong apiVersion or target")
                if not any(m.get("resource", {}).get("name") == "cpu" for m in h["spec"].get("metrics", [])):
                    p.append(f"HPA/{name}: no CPU metric")

    for name in deps:
        s = svcs.get(name)
        if not s:
            p.append(f"Service/{name} missing")
            continue
        if s["spec"].get("type", "ClusterIP") != "ClusterIP":
            p.append(f"Service/{name}: not ClusterIP")
        sel = s["spec"]["selector"]
        tl = deps[name]["spec"]["template"]["metadata"]["labels"]
        if any(tl.get(k) != v for k, v in sel.items()):
            p.append(f"Service/{name}: selector does not match the pods")
        cports = {pt["name"] for pt in deps[name]["spec"]["template"]["spec"]["containers"][0]["ports"]}
        sports = {pt.get("name"): pt.get("targetPort") for pt in s["spec"]["ports"]}
        if set(sports) != cports or any(sports[n] != n for n in sports):
            p.append(f"Service/{name}: ports {sports} do not target the named container ports {cports}")
        b = pdbs.get(name)
        if not b or b["spec"].get("minAvailable") != 1:
            p.append(f"PodDisruptionBudget/{name}: missing or minAvailable != 1")
        elif any(tl.get(k) != v for k, v in b["spec"]["selector"]["matchLabels"].items()):
            p.append(f"PodDisruptionBudget/{name}: selector does not match the pods")
        sm = deps[name]["spec"]["selector"]["matchLabels"]
        if any(tl.get(k) != v for k, v in sm.items()):
            p.append(f"Deployment/{name}: selector does not match its template")

    # migration Job
    jobs = by_kind(docs, "Job")
    j = jobs.get("majlis-migrate")
    if not j:
        p.append("Job/majlis-migrate missing")
    else:
        js = j["spec"]
        jc = js["template"]["spec"]["containers"][0]
        if jc.get("args") != ["migrate"] or not re.search(r"(^|/)auth-svc:", jc["image"]):
            p.append("Job/majlis-migrate: not `auth-svc migrate`")
        if "backoffLimit" not in js or "ttlSecondsAfterFinished" not in js:
            p.append("Job/majlis-migrate: backoffLimit/ttlSecondsAfterFinished missing")
        env = env_map(jc)
        ref = env.get("MAJLIS_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
        if ref.get("key") != "database-url":
            p.append("Job/majlis-migrate: MAJLIS_DATABASE_URL not from the Secret's database-url")
        # `migrate` reads the database settings only: no other secret goes there
        for var, e in sorted(env.items()):
            if var != "MAJLIS_DATABASE_URL" and "secretKeyRef" in e.get("valueFrom", {}):
                p.append(f"Job/majlis-migrate: gets {var}, but `migrate` reads the database settings only")
        if helm:
            a = j["metadata"].get("annotations", {})
            if set(a.get("helm.sh/hook", "").split(",")) != {"pre-install", "pre-upgrade"}:
                p.append("Job/majlis-migrate: helm.sh/hook is not pre-install,pre-upgrade")
            if "helm.sh/hook-weight" not in a:
                p.append("Job/majlis-migrate: no hook-weight")
            if set(a.get("helm.sh/hook-delete-policy", "").split(",")) != {"before-hook-creation", "hook-succeeded"}:
                p.append("Job/majlis-migrate: hook-delete-policy is not before-hook-creation,hook-succeeded")
            if jc.get("envFrom"):
                p.append("Job/majlis-migrate: a pre-install hook cannot use the release's ConfigMap")

    # NetworkPolicies
    nps = list(by_kind(docs, "NetworkPolicy").values())

    def np_selects(np, name):
        sel = np["spec"]["podSelector"]
        if not sel:
            return True
        for e in sel.get("matchExpressions", []):
            if e["key"] == "app.kubernetes.io/name" and e["operator"] == "In" and name in e["values"]:
                return True
        return sel.get("matchLabels", {}).get("app.kubernetes.io/name") == name

    if not any(np["spec"]["podSelector"] == {} and np["spec"].get("policyTypes") == ["Ingress"] and not np["spec"].get("ingress") for np in nps):
        p.append("NetworkPolicy: no default-deny ingress")

    def allowed(name, port, source_pred):
        for np in nps:
            if not np_selects(np, name):
                continue
            for rule in np["spec"].get("ingress", []):
                if any(pt.get("port") in port for pt in rule.get("ports", [])) and any(source_pred(f) for f in rule.get("from", [])):
                    return True
        return False

    def ns_is(ns):
        return lambda f: f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == ns and "podSelector" not in f

    def grpc_sources(name, grpc):
        """Who may reach name's gRPC port: pod names of this namespace, or
        '*'-marked wildcards (every pod, other namespaces, anywhere)."""
        got = set()
        for np in nps:
            if not np_selects(np, name):
                continue
            for rule in np["spec"].get("ingress", []):
                ports = rule.get("ports")
                if ports and not any(pt.get("port") in ("grpc", grpc) for pt in ports):
                    continue
                sources = rule.get("from")
                if not sources:
                    got.add(f"*anywhere ({np['metadata']['name']})")
                for f in sources or []:
                    if "namespaceSelector" in f or "ipBlock" in f:
                        got.add(f"*outside the namespace ({np['metadata']['name']})")
                        continue
                    sel = f.get("podSelector", {})
                    names = set()
                    if sel.get("matchLabels", {}).keys() - {"app.kubernetes.io/name"}:
                        names.add(f"*other labels ({np['metadata']['name']})")
                    if "app.kubernetes.io/name" in sel.get("matchLabels", {}):
                        names.add(sel["matchLabels"]["app.kubernetes.io/name"])
                    for e in sel.get("matchExpressions", []):
                        if e["key"] == "app.kubernetes.io/name" and e["operator"] == "In":
                            names |= set(e["values"])
                        else:
                            names.add(f"*expression {e} ({np['metadata']['name']})")
                    got |= names or {f"*every pod ({np['metadata']['name']})"}
        return got

    for name in WORKLOADS:
        if name in deps and not allowed(name, ("http",), ns_is("ingress-nginx")):
            p.append(f"NetworkPolicy: ingress-nginx cannot reach {name}:http")
    for name, (http, grpc, _, _) in MAJLIS.items():
        if not allowed(name, ("http",), ns_is("monitoring")):
            p.append(f"NetworkPolicy: monitoring cannot scrape {name}:http")
        if grpc:
            got, want = grpc_sources(name, grpc), GRPC_CALLERS[name]
            if got != want:
                p.append(f"NetworkPolicy: {name}:grpc admits {sorted(got)}, but its callers in the code are {sorted(want)}")
    return p


def edge_routes() -> tuple[set, set, set]:
    """(prefix routes, docs routes, rate-limited routes) of deploy/nginx/majlis.conf.template."""
    text = (ROOT / "deploy/nginx/majlis.conf.template").read_text()
    routes, docs, limited = set(), set(), set()
    for m in re.finditer(r"location\s+(=\s+)?(\S+)\s*\{([^{}]*)\}", text):
        _, path, body = m.groups()
        p = re.search(r"proxy_pass\s+http://(\w+)(/openapi\.json)?;", body)
        if not p:
            continue
        upstream, openapi = p.groups()
        svc = UPSTREAM_TO_SVC[upstream]
        if openapi:
            docs.add((path, svc))
            continue
        route = (path.rstrip("/") or "/", svc)
        routes.add(route)
        if "limit_req " in body:
            if "limit_conn " not in body:
                raise ValueError(f"edge location {path} has limit_req without limit_conn")
            limited.add(route)
    return routes, docs, limited


def edge_auth_limits() -> dict[str, str]:
    """The defaults deploy/nginx/render.sh gives the edge's auth limits."""
    text = (ROOT / "deploy/nginx/render.sh").read_text()
    return dict(re.findall(r'^: "\$\{(NGINX_AUTH_\w+):=([^}]*)\}"', text, re.M))


PROXY_ANNOTATIONS = {"proxy-read-timeout": "600", "proxy-send-timeout": "600", "proxy-body-size": "1m"}


def ingress_problems(docs: list[dict], host: str) -> list[str]:
    p = []
    ings = by_kind(docs, "Ingress")
    main = ings.get("majlis")
    if not main:
        return ["Ingress/majlis missing"]
    routes, doc_routes, limited = edge_routes()
    got: dict[str, set] = {}
    for name in ("majlis", "majlis-auth"):
        ing = ings.get(name)
        if not ing:
            continue
        spec = ing["spec"]
        if spec.get("ingressClassName") != "nginx":
            p.append(f"Ingress/{name}: ingressClassName != nginx")
        a = ing["metadata"].get("annotations", {})
        for k, v in PROXY_ANNOTATIONS.items():
            if a.get(f"nginx.ingress.kubernetes.io/{k}") != v:
                p.append(f"Ingress/{name}: annotation {k} != {v}")
        got[name] = set()
        for rule in spec["rules"]:
            if rule.get("host") != host:
                p.append(f"Ingress/{name}: host {rule.get('host')} != {host}")
            for path in rule["http"]["paths"]:
                if path["pathType"] not in ("Prefix", "ImplementationSpecific"):
                    p.append(f"Ingress/{name}: {path['path']} pathType {path['pathType']}")
                got[name].add((path["path"], path["backend"]["service"]["name"]))
    want = routes | {("/", "web")}
    union = got.get("majlis", set()) | got.get("majlis-auth", set())
    if union != want:
        p.append(f"Ingress majlis + majlis-auth routes differ from the nginx edge: missing {sorted(want - union)}, extra {sorted(union - want)}")
    # The edge's rate-limited locations are exactly majlis-auth's paths, with
    # the same limits as the edge's defaults.
    auth = ings.get("majlis-auth")
    if not auth:
        p.append(f"Ingress/majlis-auth missing: the edge rate-limits {sorted(limited)}")
    else:
        if got["majlis-auth"] != limited:
            p.append(f"Ingress/majlis-auth routes {sorted(got['majlis-auth'])} != the edge's rate-limited {sorted(limited)}")
        a = auth["metadata"].get("annotations", {})
        lim = edge_auth_limits()
        rate = lim.get("NGINX_AUTH_RATE", "")
        try:
            rps = int(a.get("nginx.ingress.kubernetes.io/limit-rps", "0"))
            burst = rps * int(a.get("nginx.ingress.kubernetes.io/limit-burst-multiplier", "5"))
            conns = int(a.get("nginx.ingress.kubernetes.io/limit-connections", "0"))
        except ValueError as e:
            return p + [f"Ingress/majlis-auth: limit annotations are not numbers: {e}"]
        if not rate.endswith("r/s") or rps != int(rate[:-3]):
            p.append(f"Ingress/majlis-auth: limit-rps {rps} != the edge's {rate}")
        if str(burst) != lim.get("NGINX_AUTH_BURST"):
            p.append(f"Ingress/majlis-auth: burst (rps x multiplier) {burst} != the edge's {lim.get('NGINX_AUTH_BURST')}")
        if str(conns) != lim.get("NGINX_AUTH_CONN"):
            p.append(f"Ingress/majlis-auth: limit-connections {conns} != the edge's {lim.get('NGINX_AUTH_CONN')}")
    d = ings.get("majlis-docs")
    if d:
        dgot = set()
        for rule in d["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                dgot.add((path["path"].replace("\\.", ".").rstrip("$"), path["backend"]["service"]["name"]))
        dwant = {(path, svc) for path, svc in doc_routes}
        if dgot != dwant:
            p.append(f"Ingress/majlis-docs differs from the edge: missing {sorted(dwant - dgot)}, extra {sorted(dgot - dwant)}")
        if d["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/rewrite-target") != "/openapi.json":
            p.append("Ingress/majlis-docs: rewrite-target != /openapi.json")
    return p


def placeholder_markers() -> list[str]:
    """majlis_runtime::env::PLACEHOLDER_MARKERS: what env::secret refuses."""
    text = (ROOT / "crates/runtime/src/env.rs").read_text()
    m = re.search(r"PLACEHOLDER_MARKERS: &\[&str\] = &\[(.*?)\];", text, re.S)
    if not m:
        raise ValueError("no PLACEHOLDER_MARKERS in crates/runtime/src/env.rs")
    return re.findall(r'"([^"]+)"', m.group(1))


# ------------------------------------------------------------------- main
def main() -> int:
    t0 = time.monotonic()
    rendered: dict[str, str] = {}

    print(f"deploy checks (Kubernetes schemas {K8S_VERSION}, strict)")

    # 1. yamllint on the sources
    @check("yamllint: k8s/, chart values, compose (tests/deploy/yamllint.yaml)")
    def _():
        files = sorted((ROOT / "k8s").rglob("*.yaml")) + [
            CHART / "Chart.yaml", CHART / "values.yaml", CHART / "values-staging.yaml",
            ROOT / "deploy/compose/docker-compose.yaml",
        ]
        probs = []
        for f in files:
            probs += yamllint_text(f.read_text(), HERE / "yamllint.yaml", str(f.relative_to(ROOT)))
        return probs

    # 2. kustomize
    for label, path in (("kustomize base", "k8s/base"), ("kustomize staging", "k8s/overlays/staging")):
        @check(f"{label}: kubectl kustomize {path}")
        def _(label=label, path=path):
            rendered[label] = kustomize(path)
            return f"{len(load_docs(rendered[label]))} objects"

    # 3. Helm
    @check("helm lint --strict (helm-python-sdk)")
    def _():
        import helm_python as helm

        probs = []
        for vals in (None, "values-staging.yaml"):
            v = helm.values_from_yaml((CHART / vals).read_text()) if vals else None
            r = helm.lint(str(CHART), v, strict=True, kube_version=f"v{K8S_VERSION}")
            probs += [f"{vals or 'values.yaml'}: {m['path']}: {m['error']}" for m in r.get("messages", []) if m.get("severity", 0) >= 2]
            probs += [f"{vals or 'values.yaml'}: {e}" for e in r.get("errors", [])]
        return probs

    helm_sets = {
        "helm values.yaml": (["values.yaml"], None, "majlis"),
        "helm values-staging.yaml": (["values.yaml", "values-staging.yaml"], None, "majlis-staging"),
        "helm chart-created Secret": (["values.yaml"], {"secret": {
            "existingSecret": "",
            "databaseUrl": "postgres://majlis:PLACEHOLDER@postgres:5432/majlis",
            "redisUrl": "redis://redis:6379",
            "tokenSigningKey": "PLACEHOLDER-test-only-token-signing-key",
            "serviceKeys": {n: f"PLACEHOLDER-service-key-{n}" for n in KEYED},
        }, "config": {"MAJLIS_SERVICE_PUBLIC_KEYS": "PLACEHOLDER", "MAJLIS_TOKEN_PUBLIC_KEY": "PLACEHOLDER"}}, "majlis"),
    }
    for label, (files, extra, ns) in helm_sets.items():
        @check(f"{label}: render")
        def _(label=label, files=files, extra=extra, ns=ns):
            rendered[label] = helm_render(files, extra, ns)
            return f"{len(load_docs(rendered[label]))} objects"

    @check("helm: existingSecret \"\" without values fails the render")
    def _():
        try:
            helm_render(["values.yaml"], {"secret": {"existingSecret": ""}})
        except Exception as e:  # noqa: BLE001
            if "secret.databaseUrl is required" in str(e):
                return None
            return [f"failed, but not with the expected message: {e}"]
        return ["rendered without the secret values"]

    @check("helm: a chart-created Secret without the service keys or the token keys fails the render")
    def _():
        base = {"existingSecret": "", "databaseUrl": "postgres://x@y/z", "redisUrl": "redis://r",
                "tokenSigningKey": "PLACEHOLDER-test-only-token-signing-key"}
        keys = {n: "PLACEHOLDER" for n in KEYED}
        both = {"MAJLIS_SERVICE_PUBLIC_KEYS": "PLACEHOLDER", "MAJLIS_TOKEN_PUBLIC_KEY": "PLACEHOLDER"}
        no_token = {k: v for k, v in base.items() if k != "tokenSigningKey"}
        probs = []
        for extra, needle in (
            ({"secret": base, "config": both}, "secret.serviceKeys."),
            ({"secret": {**base, "serviceKeys": keys}, "config": {"MAJLIS_TOKEN_PUBLIC_KEY": "PLACEHOLDER"}}, "config.MAJLIS_SERVICE_PUBLIC_KEYS is required"),
            ({"secret": {**no_token, "serviceKeys": keys}, "config": both}, "secret.tokenSigningKey is required"),
            ({"secret": {**base, "serviceKeys": keys}, "config": {"MAJLIS_SERVICE_PUBLIC_KEYS": "PLACEHOLDER"}}, "config.MAJLIS_TOKEN_PUBLIC_KEY is required"),
        ):
            try:
                helm_render(["values.yaml"], extra)
                probs.append(f"rendered without {needle}")
            except Exception as e:  # noqa: BLE001
                if needle not in str(e):
                    probs.append(f"failed, but not naming {needle}: {e}")
        return probs

    @check("service keys: deploy/gen-service-keys.sh makes keys for exactly the gRPC callers in the code")
    def _():
        text = (ROOT / "deploy/gen-service-keys.sh").read_text()
        m = re.search(r"^CALLERS=\(([^)]*)\)", text, re.M)
        got = set(m.group(1).split()) if m else set()
        return [] if got == set(KEYED) else [f"CALLERS {sorted(got)} != the code's callers {KEYED}"]

    # 4. validate + rules for everything that rendered
    for label, text in rendered.items():
        docs = load_docs(text)
        is_helm = label.startswith("helm")
        host = "staging.majlis.example" if "staging" in label else "majlis.example"

        @check(f"{label}: yamllint rendered output (duplicate keys, syntax)")
        def _(text=text, label=label):
            return yamllint_text(text, HERE / "rendered.yamllint.yaml", label)

        @check(f"{label}: kubernetes-validate --strict -k {K8S_VERSION}")
        def _(docs=docs, label=label):
            probs = validate_docs(docs, label)
            return probs or f"{len(docs)} objects valid"

        @check(f"{label}: majlis rules (security, probes, env, PDB, HPA, NetworkPolicy, Job)")
        def _(docs=docs, label=label, is_helm=is_helm):
            return policy_problems(docs, label, is_helm)

        @check(f"{label}: Ingress routes and auth limits == deploy/nginx edge routes and limits")
        def _(docs=docs, host=host):
            return ingress_problems(docs, host)

    @check("secrets: none in the base; staging and the chart carry placeholders only")
    def _():
        p = []
        if "kustomize base" in rendered and by_kind(load_docs(rendered["kustomize base"]), "Secret"):
            p.append("k8s/base renders a Secret")
        import base64
        for label in ("kustomize staging", "helm chart-created Secret"):
            for s in by_kind(load_docs(rendered.get(label, "")), "Secret").values():
                vals = dict(s.get("stringData", {}))
                vals.update({k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()})
                if set(vals) != {"database-url", "redis-url", "token-signing-key"} | SERVICE_KEY_SECRETS:
                    p.append(f"{label}: Secret keys {sorted(vals)}")
                for k in SERVICE_KEY_SECRETS | {"token-signing-key"}:
                    if "PLACEHOLDER" not in vals.get(k, ""):
                        p.append(f"{label}: {k} is not marked PLACEHOLDER")
                if "PLACEHOLDER" not in vals.get("database-url", ""):
                    p.append(f"{label}: Secret values are not marked PLACEHOLDER")
        for label in ("helm values.yaml", "helm values-staging.yaml"):
            if by_kind(load_docs(rendered.get(label, "")), "Secret"):
                p.append(f"{label}: renders a Secret although existingSecret is set")
        return p

    @check("secrets: every stand-in in the staging overlay is one the services refuse (env::PLACEHOLDER_MARKERS)")
    def _():
        import base64
        markers = placeholder_markers()
        if not markers:
            return ["PLACEHOLDER_MARKERS is empty"]
        p = []
        for s in by_kind(load_docs(rendered.get("kustomize staging", "")), "Secret").values():
            vals = dict(s.get("stringData", {}))
            vals.update({k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()})
            for key, value in sorted(vals.items()):
                # a URL without credentials (redis://host:port) holds no secret
                if re.fullmatch(r"[a-z]+://[^@/]+(/.*)?", value):
                    continue
                if not any(m in value.lower() for m in markers):
                    p.append(f"staging Secret {key}: would boot a service (contains none of {markers})")
        return p or f"markers {markers}"

    @check("helm: ingress.authRateLimit.enabled=false puts /api/auth back into Ingress/majlis")
    def _():
        docs = load_docs(helm_render(["values.yaml"], {"ingress": {"authRateLimit": {"enabled": False}}}))
        ings = by_kind(docs, "Ingress")
        if "majlis-auth" in ings:
            return ["Ingress/majlis-auth rendered although disabled"]
        paths = {pa["path"] for r in ings["majlis"]["spec"]["rules"] for pa in r["http"]["paths"]}
        return [] if "/api/auth" in paths else ["/api/auth is in no Ingress"]

    @check("parity: kustomize staging and helm staging render the same objects")
    def _():
        def keyset(label, skip=("Namespace", "Secret")):
            return {(d["kind"], base_name(d["metadata"]["name"], d["kind"])) for d in load_docs(rendered[label]) if d["kind"] not in skip}
        k, h = keyset("kustomize staging"), keyset("helm values-staging.yaml")
        if k != h:
            return [f"only kustomize: {sorted(k - h)}", f"only helm: {sorted(h - k)}"]
        ns = {d["metadata"].get("namespace") for d in load_docs(rendered["kustomize staging"]) if d["kind"] != "Namespace"}
        if ns != {"majlis-staging"}:
            return [f"kustomize staging namespaces {ns}"]
        return f"{len(k)} objects"

    # 5. Docker / compose artefacts (static: no engine here)
    @check("Dockerfiles: ARG SERVICE, cache mounts, USER 10001, ENTRYPOINT /app/service")
    def _():
        p = []
        df = (ROOT / "deploy/docker/Dockerfile").read_text()
        for needle in ("ARG SERVICE", "FROM ${RUST_IMAGE} AS build", "rust:1.95-bookworm", "--mount=type=cache",
                       "cargo build --release --locked --bin", "USER 10001", 'ENTRYPOINT ["/app/service"]'):
            if needle not in df:
                p.append(f"deploy/docker/Dockerfile: missing {needle!r}")
        wf = (ROOT / "deploy/docker/web.Dockerfile").read_text()
        for needle in ("npm ci", "npm run build", "nginx-unprivileged", "/usr/share/nginx/html"):
            if needle not in wf:
                p.append(f"deploy/docker/web.Dockerfile: missing {needle!r}")
        di = (ROOT / ".dockerignore").read_text().split()
        for needle in ("target", ".run", "node_modules", "web/node_modules"):
            if needle not in di:
                p.append(f".dockerignore: missing {needle}")
        for path in ("Cargo.toml", "Cargo.lock", "crates", "proto", "migrations"):
            if path in di:
                p.append(f".dockerignore excludes {path}, which the build needs")
        return p

    @check("compose: services, build args, env, edge.conf rendered from the template")
    def _():
        p = []
        c = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yaml").read_text())
        s = c["services"]
        want = {"postgres", "redis", "migrate", "web", "edge", *MAJLIS}
        if set(s) != want:
            p.append(f"services {sorted(s)} != {sorted(want)}")
        for name, (http, grpc, db, gw) in MAJLIS.items():
            svc = s.get(name, {})
            if svc.get("build", {}).get("args", {}).get("SERVICE") != name:
                p.append(f"{name}: build arg SERVICE != {name}")
            env = svc.get("environment", {})
            if env.get("MAJLIS_HTTP_ADDR") != f"0.0.0.0:{http}":
                p.append(f"{name}: MAJLIS_HTTP_ADDR")
            if grpc and env.get("MAJLIS_GRPC_ADDR") != f"0.0.0.0:{grpc}":
                p.append(f"{name}: MAJLIS_GRPC_ADDR")
            required = re.compile(r"^\$\{[A-Z_]+:\?[^}]+\}$")
            if not required.match(str(env.get("MAJLIS_SERVICE_PUBLIC_KEYS", ""))):
                p.append(f"{name}: MAJLIS_SERVICE_PUBLIC_KEYS is not required from the environment (${{VAR:?…}})")
            if name in KEYED and not required.match(str(env.get("MAJLIS_SERVICE_KEY", ""))):
                p.append(f"{name}: MAJLIS_SERVICE_KEY is not required from the environment (${{VAR:?…}})")
            if name not in KEYED and "MAJLIS_SERVICE_KEY" in env:
                p.append(f"{name}: gets MAJLIS_SERVICE_KEY but calls no gRPC")
            if not required.match(str(env.get("MAJLIS_TOKEN_PUBLIC_KEY", ""))):
                p.append(f"{name}: MAJLIS_TOKEN_PUBLIC_KEY is not required from the environment (${{VAR:?…}})")
            signing = env.get("MAJLIS_TOKEN_SIGNING_KEY")
            if name == "auth-svc" and not required.match(str(signing or "")):
                p.append(f"{name}: MAJLIS_TOKEN_SIGNING_KEY is not required from the environment (${{VAR:?…}})")
            if name != "auth-svc" and signing is not None:
                p.append(f"{name}: gets MAJLIS_TOKEN_SIGNING_KEY, but only auth-svc mints tokens")
            if svc.get("depends_on", {}).get("migrate", {}).get("condition") != "service_completed_successfully":
                p.append(f"{name}: does not wait for migrate")
        if s.get("migrate", {}).get("command") != ["migrate"]:
            p.append("migrate: command != [migrate]")
        if "MAJLIS_JWT_SECRET" in (ROOT / "deploy/compose/docker-compose.yaml").read_text():
            p.append("MAJLIS_JWT_SECRET is still set: no service reads it (tokens are EdDSA)")
        menv = s.get("migrate", {}).get("environment", {})
        if set(menv) - {"MAJLIS_DATABASE_URL", "MAJLIS_LOG_FORMAT", "RUST_LOG"}:
            p.append(f"migrate: gets {sorted(set(menv) - {'MAJLIS_DATABASE_URL', 'MAJLIS_LOG_FORMAT', 'RUST_LOG'})}, but `migrate` reads the database settings only")
        r = subprocess.run(["bash", str(ROOT / "deploy/compose/render-edge.sh"), "--check"], capture_output=True, text=True)
        if r.returncode != 0:
            p.append(r.stderr.strip())
        return p

    @check("deploy/nginx/render.sh --check-knobs refuses what nginx would refuse only at start")
    def _():
        p = []
        for knobs, ok in ((dict(NGINX_AUTH_CONN="60000"), True), (dict(NGINX_AUTH_CONN="100000"), False),
                          (dict(NGINX_AUTH_DELAY="60", NGINX_AUTH_BURST="50"), False)):
            r = subprocess.run(["bash", str(ROOT / "deploy/nginx/render.sh"), "--check-knobs"],
                               capture_output=True, text=True, env={**os.environ, **knobs}, timeout=30)
            if (r.returncode == 0) != ok:
                p.append(f"{knobs}: exit {r.returncode}, expected {'success' if ok else 'a refusal'} {r.stderr.strip()}")
        return p

    nginx = shutil.which("nginx") or next((x for x in ("/usr/sbin/nginx",) if os.access(x, os.X_OK)), None)

    @check("nginx -t: deploy/compose/edge.conf and deploy/docker/web-nginx.conf" + ("" if nginx else " (skipped: no nginx)"))
    def _():
        if not nginx:
            return "skipped"
        p = []
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            (t / "tmp").mkdir()
            edge = (ROOT / "deploy/compose/edge.conf").read_text()
            for host in ("auth-svc", "channels-svc", "onboarding-svc", "chat-gateway", "presence-gateway"):
                edge = edge.replace(f"server {host}:", "server 127.0.0.1:")
            edge = edge.replace("/tmp/edge", tmp).replace("listen 8080;", "listen 127.0.0.1:18099;")
            edge = edge.replace("/usr/share/nginx/html", tmp)
            (t / "edge.conf").write_text(edge)
            web = (ROOT / "deploy/docker/web-nginx.conf").read_text().replace("listen 8080;", "listen 127.0.0.1:18099;")
            (t / "web.conf").write_text(
                f'pid "{tmp}/web.pid";\nevents {{}}\nhttp {{\n client_body_temp_path {tmp}/tmp; proxy_temp_path {tmp}/tmp;\n'
                f' fastcgi_temp_path {tmp}/tmp; uwsgi_temp_path {tmp}/tmp; scgi_temp_path {tmp}/tmp;\n{web}\n}}\n')
            for conf in ("edge.conf", "web.conf"):
                r = subprocess.run([nginx, "-t", "-q", "-e", f"{tmp}/error.log", "-p", tmp + "/", "-c", str(t / conf)],
                                   capture_output=True, text=True, timeout=30)
                if r.returncode != 0:
                    p.append(f"{conf}: {(r.stderr or r.stdout).strip()}")
        return p

    passed = sum(1 for ok, _, _ in results if ok)
    failed = len(results) - passed
    print(f"deploy checks took {time.monotonic() - t0:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
