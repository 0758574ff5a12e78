"""The chart's lint, its rendered manifests against Kubernetes' JSON schemas, and what the app needs of them.
    validate.py HELM CHART_DIR
Exits 1 with one line per finding."""
import math
import os
import re
import subprocess
import sys

import kubernetes_validate
import yaml

# the oldest Kubernetes the chart supports (Chart.yaml's kubeVersion: the pre-stop sleep action) and the newest
# whose schemas kubernetes-validate ships
KUBERNETES = ["1.30.0", "1.37.0"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VARIANTS = {
    "cpu": [],
    "gpu": ["--set", "gpu.enabled=true", "--set", "image.tag=gpu", "--set",
            "model.directory=llm-jp-4-8b-thinking-cuda-fp16"],
    "autoscaled-with-api-key": ["--set", "autoscaling.enabled=true", "--set", "apiKey.existingSecret=kotodama-api-key",
                                "--set", "kotodama.shutdownGraceSeconds=45", "--set", "resources.requests.cpu=3500m",
                                "--set", "kotodama.forwardedHeaders=true"],
}
# values that values.schema.json must refuse, each with what Kubernetes or the app would do with it
REFUSED = {"kotodama.shutdownGraceSeconds=-1": "a negative grace", "preStopSleepSeconds=0": "a sleep Kubernetes "
           "1.30-1.32 refuses", "kotodama.extraEnv.KOTODAMA_X=1000000": "a number Helm would render as 1e+06"}
findings = []


def main(helm, chart):
    lint = subprocess.run([helm, "lint", "--strict", chart], capture_output=True, text=True)
    print(lint.stdout.strip())
    if lint.returncode != 0:
        findings.append(f"helm lint --strict: {lint.stderr.strip() or 'failed'}")
    for value, what in REFUSED.items():
        refused = subprocess.run([helm, "lint", "--strict", chart, "--set", value], capture_output=True, text=True)
        if refused.returncode == 0:
            findings.append(f"helm lint accepted {value} ({what}): values.schema.json does not hold")

    for name, arguments in VARIANTS.items():
        rendered = subprocess.run([helm, "template", "kotodama", chart, "--kube-version", KUBERNETES[0], *arguments],
                                  capture_output=True, text=True)
        if rendered.returncode != 0:
            findings.append(f"{name}: helm template: {rendered.stderr.strip()}")
            continue
        resources = [document for document in yaml.safe_load_all(rendered.stdout) if document]
        for resource in resources:
            for version in KUBERNETES:
                try:
                    kubernetes_validate.validate(resource, version, strict=True)
                except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
                    findings.append(f"{name}: {resource['kind']} on Kubernetes {version}: {error}")
        check(name, {resource["kind"]: resource for resource in resources}, arguments)
        print(f"{name}: {', '.join(sorted(resource['kind'] for resource in resources))}: valid on Kubernetes "
              f"{' and '.join(KUBERNETES)}")

    misspelled = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                  "spec": {"selector": {"a": "b"}, "port": [{"port": 80}]}}
    try:
        kubernetes_validate.validate(misspelled, KUBERNETES[0], strict=True)
        findings.append("the schema validator accepted a Service with a misspelled field: it checks nothing")
    except kubernetes_validate.ValidationError:
        pass

    for finding in findings:
        print(f"deploy/helm/check: {finding}", file=sys.stderr)
    print(f"deploy/helm/check: {'FAILED' if findings else 'passed'}")
    return 1 if findings else 0


def check(name, kinds, arguments):
    """What the app needs of the rendered manifests."""
    deployment = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {variable["name"]: variable.get("value", variable.get("valueFrom")) for variable in container["env"]}

    def expect(condition, what):
        if not condition:
            findings.append(f"{name}: {what}")

    gpu = "gpu.enabled=true" in arguments
    limits = container["resources"].get("limits", {})
    expect(("nvidia.com/gpu" in limits) == gpu, f"nvidia.com/gpu limit {limits.get('nvidia.com/gpu')} with gpu={gpu}")
    expect(env["KOTODAMA_EXECUTION_PROVIDER"] == ("cuda" if gpu else "cpu"),
           f"execution provider {env['KOTODAMA_EXECUTION_PROVIDER']} with gpu={gpu}")
    expect(env["KOTODAMA_MODEL_DIR"].startswith("/models/"), "the model directory is not under the models volume")
    cpu = str(container["resources"]["requests"]["cpu"])
    cores = math.ceil(int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu))
    expect(env["KOTODAMA_THREADS"] == str(cores),
           f"kotodama.threads {env['KOTODAMA_THREADS']} is not the CPU request {cpu} rounded up: ONNX Runtime's "
           "default counts the node's cores, not the pod's")
    forwarded = "kotodama.forwardedHeaders=true" in arguments
    expect((env.get("SERVER_FORWARD_HEADERS_STRATEGY") == "native") == forwarded,
           f"forwarded headers believed: {env.get('SERVER_FORWARD_HEADERS_STRATEGY')} with forwardedHeaders={forwarded}")

    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    claim = next(volume for volume in pod["volumes"] if volume["name"] == "models")["persistentVolumeClaim"]
    expect(mounts["models"].get("readOnly") and claim.get("readOnly"), "the model volume is not read-only")
    expect(container["securityContext"].get("readOnlyRootFilesystem") and "/tmp" in
           {mount["mountPath"] for mount in mounts.values()},
           "a read-only root needs /tmp writable (the demo model and ONNX Runtime unpack there)")

    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    expect(probes == {"startupProbe": "/actuator/health/liveness", "livenessProbe": "/actuator/health/liveness",
                      "readinessProbe": "/actuator/health/readiness"}, f"probes {probes}")
    public = public_paths()
    expect(set(probes.values()) <= public, f"a probe path is not public when an API key is set: {probes}")

    grace = int(re.fullmatch(r"(\d+)s", env["KOTODAMA_SHUTDOWN_GRACE"]).group(1))
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    web, step = web_shutdown_seconds(), engine_step_seconds()
    expect("KOTODAMA_SHUTDOWN_DELAY" not in env, "a shutdown delay the grace period does not count (the pre-stop "
           "sleep does its work here)")
    expect(pod["terminationGracePeriodSeconds"] > sleep + grace + step + web,
           f"terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} does not cover the pre-stop sleep "
           f"{sleep} s, kotodama.shutdown-grace {grace} s, the engine's last step {step} s and the web server's {web} s")

    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    expect(selector.items() <= labels.items(), "the Deployment's selector does not match its pods")
    expect(kinds["Service"]["spec"]["selector"] == selector, "the Service selects other pods than the Deployment's")
    expect(kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector,
           "the PodDisruptionBudget covers other pods than the Deployment's")

    autoscaled = "autoscaling.enabled=true" in arguments
    expect(("HorizontalPodAutoscaler" in kinds) == autoscaled and ("replicas" in deployment["spec"]) != autoscaled,
           "the autoscaler and the Deployment's replicas do not go together")
    if autoscaled:
        metric = kinds["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
        expect(metric in app_gauges(), f"the autoscaler reads {metric}, which the app does not export")
        expect(env.get("KOTODAMA_WEB_API_KEY", {}).get("secretKeyRef", {}).get("name") == "kotodama-api-key",
               "the API key does not come from the named Secret")


def public_paths():
    """The paths ApiKeyFilter leaves open when an API key is set."""
    with open(os.path.join(ROOT, "src/main/java/dev/kotodama/web/ApiKeyFilter.java")) as source:
        text = source.read()
    block = re.search(r"PUBLIC_PATHS = Set\.of\((.*?)\);", text, re.S).group(1)
    return set(re.findall(r'"([^"]+)"', block))


def web_shutdown_seconds():
    """The web server's graceful shutdown after the generations' grace, from the app's configuration."""
    with open(os.path.join(ROOT, "src/main/resources/dev/kotodama/application.yml")) as config:
        phase = yaml.safe_load(config)["spring"]["lifecycle"]["timeout-per-shutdown-phase"]
    return int(re.fullmatch(r"(\d+)s", phase).group(1))


def engine_step_seconds():
    """How long the engine's drain waits, after the grace, for the generations' last step to end."""
    with open(os.path.join(ROOT, "src/main/java/dev/kotodama/engine/Engine.java")) as source:
        return int(re.search(r"stepDeadline = System\.nanoTime\(\) \+ Duration\.ofSeconds\((\d+)\)", source.read())
                   .group(1))


def app_gauges():
    """The Prometheus names of the gauges the app registers."""
    with open(os.path.join(ROOT, "src/main/java/dev/kotodama/ai/EngineMetrics.java")) as source:
        names = re.findall(r'Gauge\.builder\("([a-z.]+)"', source.read())
    return {name.replace(".", "_") for name in names}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
