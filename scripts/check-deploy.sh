#!/usr/bin/env bash
# Checks deploy/kubernetes offline, as CI runs it (scripts/test.sh): renders every overlay with
# kustomize (throwaway Secrets from make-secrets.sh, in a temporary copy), validates every rendered
# object against the Kubernetes API schemas with kubernetes-validate (strict: an unknown field
# fails) for the oldest and newest Kubernetes versions we support, then checks what the schemas
# cannot: the topology agrees with the replica counts, every StatefulSet has its headless Service
# and PodDisruptionBudget, every container is non-root, read-only, sized and probed through Health,
# production and partitioned (built on it) mask personal data for operators, a partition map's owners are profiles pods and every profiles pod reads that map
# (count, mounted file, owner name, a file per partition), and no secret material is committed.
# Takes a few seconds; needs no cluster.
#
# Tools (scripts/setup.sh installs them): kubectl (its `kustomize`) or kustomize; kubernetes-validate
# from PyPI in tools/venv; openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=(1.30.0 1.37.0)

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  render() { kubectl kustomize "$1"; }
elif command -v kustomize >/dev/null 2>&1; then
  render() { kustomize build "$1"; }
else
  echo "check-deploy: SKIPPED: neither kubectl nor kustomize is installed and scripts/setup.sh could not install one" >&2
  exit 0
fi
validator=""
for candidate in tools/venv/bin/kubernetes-validate "$(command -v kubernetes-validate || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then validator="$candidate"; break; fi
done
if [ -z "$validator" ]; then
  echo "check-deploy: SKIPPED: kubernetes-validate is not installed and scripts/setup.sh could not install it" >&2
  exit 0
fi
python="$(dirname "$validator")/python3"
[ -x "$python" ] || python=python3

# Nothing secret is committed: no secrets/ folder and no private key under deploy/.
if git ls-files --error-unmatch deploy >/dev/null 2>&1; then
  if git ls-files deploy | grep -E '(^|/)secrets/'; then
    echo "check-deploy: files under a secrets/ folder are committed; they must stay out of git" >&2
    exit 1
  fi
  if git grep -l -e "PRIVATE KEY-----" -- deploy; then
    echo "check-deploy: a private key is committed under deploy/" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r deploy/kubernetes "$work/kubernetes"
rm -rf "$work"/kubernetes/overlays/*/secrets

overlays=()
for overlay in "$work"/kubernetes/overlays/*/; do
  overlays+=("$(basename "$overlay")")
done
# Every overlay's Secrets first: an overlay built on another without Secrets of its own
# (partitioned on production) reads that one's secrets/ folder.
for name in "${overlays[@]}"; do
  if grep -q '^secretGenerator:' "$work/kubernetes/overlays/$name/kustomization.yaml"; then
    deploy/kubernetes/make-secrets.sh "$work/kubernetes/overlays/$name" --days 2 >/dev/null
  fi
done
for name in "${overlays[@]}"; do
  dir="$work/kubernetes/overlays/$name"
  render "$dir" > "$work/$name.yaml"
  for version in "${versions[@]}"; do
    if ! out="$("$validator" --strict --quiet -k "$version" "$work/$name.yaml" 2>&1)"; then
      echo "$out" >&2
      echo "check-deploy: overlay $name does not validate against Kubernetes $version" >&2
      exit 1
    fi
  done
  "$python" - "$name" "$work/$name.yaml" <<'EOF'
import json, re, sys
import yaml

overlay, path = sys.argv[1], sys.argv[2]
objects = [o for o in yaml.safe_load_all(open(path)) if o]
problems = []
def find(kind, name=None):
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

def config_map(prefix):
    found = [c for c in find("ConfigMap") if re.fullmatch(prefix + r"(-[a-z0-9]{10})?", c["metadata"]["name"])]
    if len(found) != 1:
        problems.append(f"expected one ConfigMap {prefix}")
        return {}
    return found[0].get("data", {})
file_topology = json.loads(config_map("crm-topology").get("topology.json", "{}"))
sets = {s["metadata"]["name"]: s for s in find("StatefulSet")}
configs = {c["metadata"]["name"] for c in find("ConfigMap")}
secrets = {s["metadata"]["name"]: s for s in find("Secret")}

for service in ["profiles", "products", "matching", "compensation"]:
    s = sets.get(service)
    if s is None:
        problems.append(f"no StatefulSet {service}")
        continue
    spec, pod = s["spec"], s["spec"]["template"]["spec"]
    labels = s["spec"]["template"]["metadata"]["labels"]
    listed = [e for e in config_map(f"crm-endpoints-{service}").get("endpoints", "").split(",") if e]
    if listed != file_topology.get(service):
        problems.append(f"crm-endpoints-{service} {listed} differs from topology.json's {file_topology.get(service)}")
    container = pod["containers"][0]
    port = container["ports"][0]["containerPort"]
    expected = [f"{service}-{i}.{service}:{port}" for i in range(spec.get("replicas", 1))]
    if listed != expected:
        problems.append(f"crm-endpoints-{service} is {listed}, but the StatefulSet's {spec.get('replicas', 1)} pods are {expected}")
    headless = [v for v in find("Service", spec["serviceName"]) if v["spec"].get("clusterIP") == "None"]
    if not headless or not selects({"matchLabels": headless[0]["spec"]["selector"]}, labels):
        problems.append(f"{service}: no headless Service {spec['serviceName']} selecting its pods")
    if not any(selects(p["spec"]["selector"], labels) for p in find("PodDisruptionBudget")):
        problems.append(f"{service}: no PodDisruptionBudget")
    if [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])] != ["data"]:
        problems.append(f"{service}: expected one volumeClaimTemplate, data")
    context = pod.get("securityContext", {})
    if not context.get("runAsNonRoot") or context.get("runAsUser", 0) == 0:
        problems.append(f"{service}: the pod must run as a non-root user")
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
            problems.append(f"{service}/{c['name']}: needs readOnlyRootFilesystem and no privilege escalation")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{service}/{c['name']}: must drop every capability")
        resources = c.get("resources", {})
        if "memory" not in resources.get("requests", {}) or "memory" not in resources.get("limits", {}):
            problems.append(f"{service}/{c['name']}: needs a memory request and limit")
        if service == "profiles":
            # Profiles schedules its files' updaters for the cores it counts on: its CPU request,
            # not the node's cores (docs/partitioning.md §3, "The cores a process counts on").
            cores = [e for e in c.get("env", []) if e["name"] == "CRM_PROFILES_CORES"]
            field = cores[0].get("valueFrom", {}).get("resourceFieldRef", {}) if cores else {}
            if field.get("resource") != "requests.cpu" or field.get("containerName") != c["name"] or "cpu" not in resources.get("requests", {}):
                problems.append(f"{service}/{c['name']}: CRM_PROFILES_CORES must come from the container's own requests.cpu")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        if "/var/lib/crm" not in mounts or mounts["/var/lib/crm"]["name"] != "data":
            problems.append(f"{service}/{c['name']}: the data volume must be mounted at /var/lib/crm")
        if f"/var/lib/crm/{service}.sqlite" not in c.get("args", []):
            problems.append(f"{service}/{c['name']}: the store must be on the data volume (--database /var/lib/crm/{service}.sqlite)")
        for probe, live in [("readinessProbe", False), ("livenessProbe", True), ("startupProbe", True)]:
            command = c.get(probe, {}).get("exec", {}).get("command", [])
            if command[:3] != ["crmctl", "probe", f"localhost:{port}"] or ("--live" in command) != live:
                problems.append(f"{service}/{c['name']}: {probe} must be `crmctl probe localhost:{port}`" + (" --live" if live else ""))
    for volume in pod.get("volumes", []):
        if "configMap" in volume and volume["configMap"]["name"] not in configs:
            problems.append(f"{service}: volume {volume['name']} names a missing ConfigMap {volume['configMap']['name']}")
        if "secret" in volume:
            secret = secrets.get(volume["secret"]["secretName"])
            if secret is None:
                problems.append(f"{service}: volume {volume['name']} names a missing Secret {volume['secret']['secretName']}")
            elif volume["name"] == "tls" and set(secret.get("data", {})) != {"ca.crt", "tls.crt", "tls.key"}:
                problems.append(f"{service}: Secret {secret['metadata']['name']} must hold ca.crt, tls.crt and tls.key")
    if overlay in ("production", "partitioned"):
        # Operators see personal data masked in production (proto/README.md §8.2).
        privacy = [e.get("value", "") for e in container.get("env", []) if e["name"] == f"CRM_{service.upper()}_PRIVACY"]
        if len(privacy) != 1 or json.loads(privacy[0]).get("roles", {}).get("admin") != []:
            problems.append(f"{service}: overlay {overlay} must set CRM_{service.upper()}_PRIVACY with admin seeing no personal data")
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("configMapKeyRef")
        if ref and (ref["name"] not in configs or ref["key"] not in find("ConfigMap", ref["name"])[0].get("data", {})):
            problems.append(f"{service}: env {env['name']} names a missing ConfigMap key {ref['name']}/{ref['key']}")

# The partition map (docs/partitioning.md §5), when the topology has one: its owners are the
# profiles StatefulSet's pods by name (a pod may own nothing: a node added for partitions to be
# moved to), every partition has exactly one of them, and every profiles pod reads this map.
partitions = file_topology.get("partitions")
summary = ""
if partitions is not None:
    replicas = sets.get("profiles", {}).get("spec", {}).get("replicas", 1)
    owners = partitions.get("owners", {})
    pods = {f"profiles-{i}" for i in range(replicas)}
    if not set(owners) <= pods:
        problems.append(f"topology partitions.owners {sorted(set(owners) - pods)} are not profiles pods {sorted(pods)}")
    count = partitions.get("count") if isinstance(partitions.get("count"), int) else 0
    covered = []
    for owner, text in owners.items():
        for piece in str(text).split(","):
            if not piece.strip():
                continue
            low, _, high = piece.strip().partition("-")
            try:
                covered += list(range(int(low), int(high or low) + 1))
            except ValueError:
                problems.append(f"topology partitions.owners[{owner}]: {piece!r} is not a partition or a range a-b")
    if sorted(covered) != list(range(count)):
        problems.append(f"topology partitions: not every partition of {partitions.get('count')} has exactly one owner")
    if not isinstance(partitions.get("epoch"), int) or partitions["epoch"] < 1:
        problems.append(f"topology partitions.epoch {partitions.get('epoch')!r} is not a whole number from 1")
    # What the profiles pods are told: the configuration file's settings, then --setting flags.
    profiles_set = sets.get("profiles")
    if profiles_set is not None:
        pod = profiles_set["spec"]["template"]["spec"]
        container = pod["containers"][0]
        settings = {}
        for c in find("ConfigMap"):
            if c["metadata"]["name"].startswith("crm-config-profiles"):
                for text in c.get("data", {}).values():
                    settings.update(json.loads(text).get("settings") or {})
        args = container.get("args", [])
        for flag, value in zip(args, args[1:]):
            if flag == "--setting":
                key, _, setting = value.partition("=")
                settings[key] = setting
        # Unset, profiles uses 64 (Partitioning.defaultCount).
        if settings.get("partitions.count", "64") != str(count):
            problems.append(f"profiles: partitions.count is {settings.get('partitions.count', '64 (unset)')!r}, the map's count is {count} "
                            "(the store records it at the first start and refuses another)")
        topology_volumes = {v["name"] for v in pod.get("volumes", []) if re.fullmatch(r"crm-topology(-[a-z0-9]{10})?", v.get("configMap", {}).get("name", ""))}
        mounted = [m for m in container.get("volumeMounts", []) if m["name"] in topology_volumes]
        path_set = settings.get("partitions.topology", "")
        if not any(path_set == m["mountPath"].rstrip("/") + "/topology.json" and "subPath" not in m for m in mounted):
            problems.append(f"profiles: partitions.topology {path_set!r} is not topology.json in a folder mount of crm-topology "
                            "(not subPath: an updated ConfigMap must reach the file)")
        if not find("ConfigMap", "crm-topology"):
            problems.append("crm-topology has a hash suffix: a changed map would make a new ConfigMap and roll every pod "
                            "instead of reaching the mounted files (options: disableNameSuffixHash: true)")
        owner = settings.get("partitions.owner")
        if owner is not None:
            fields = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in container.get("env", [])}
            variable = re.fullmatch(r"\$\((\w+)\)", owner)
            if not variable or fields.get(variable.group(1)) != "metadata.name":
                problems.append(f"profiles: partitions.owner {owner!r} must be the pod's name, $(VAR) with VAR from metadata.name")
        if settings.get("partitions.storage") != "file-per-partition":
            problems.append("profiles: a partitioned overlay keeps a file per partition (partitions.storage=file-per-partition): "
                            "only such a partition can be moved to another pod")
    idle = sorted(pods - set(owners))
    summary = f"; {count} partitions, map epoch {partitions.get('epoch')}, over {len(owners)} owners" + (
        f" (owning nothing yet: {', '.join(idle)})" if idle else "")

# Matching's partition groups (docs/partitioning.md §9), when the topology has them: every
# partition of the map's count in exactly one group, every group's replica one of the matching
# list's and in one group only, and every matching pod told the topology (a folder mount) and its
# own endpoint from its pod's name.
groups = file_topology.get("matching_groups")
if groups is not None:
    count = (partitions or {}).get("count")
    listed = file_topology.get("matching") or []
    covered, seen = [], []
    for index, group in enumerate(groups if isinstance(groups, list) else []):
        for piece in str(group.get("partitions", "")).split(","):
            low, _, high = piece.strip().partition("-")
            try:
                covered += list(range(int(low), int(high or low) + 1))
            except ValueError:
                problems.append(f"topology matching_groups[{index}]: {piece!r} is not a partition or a range a-b")
        replicas = group.get("replicas") or []
        if not replicas:
            problems.append(f"topology matching_groups[{index}] lists no replica")
        for replica in replicas:
            if replica not in listed:
                problems.append(f"topology matching_groups[{index}]: {replica} is not in the matching list")
            if replica in seen:
                problems.append(f"topology matching_groups: {replica} is in two groups")
            seen.append(replica)
    if not isinstance(count, int) or sorted(covered) != list(range(count)):
        problems.append(f"topology matching_groups: not every partition of {count} is in exactly one group")
    matching_set = sets.get("matching")
    if matching_set is not None:
        pod = matching_set["spec"]["template"]["spec"]
        container = pod["containers"][0]
        args = container.get("args", [])
        settings = {}
        for flag, value in zip(args, args[1:]):
            if flag == "--setting":
                key, _, setting = value.partition("=")
                settings[key] = setting
        topology_volumes = {v["name"] for v in pod.get("volumes", []) if re.fullmatch(r"crm-topology(-[a-z0-9]{10})?", v.get("configMap", {}).get("name", ""))}
        mounted = [m for m in container.get("volumeMounts", []) if m["name"] in topology_volumes]
        if not any(settings.get("groups.topology") == m["mountPath"].rstrip("/") + "/topology.json" for m in mounted):
            problems.append(f"matching: groups.topology {settings.get('groups.topology')!r} is not topology.json in a mount of crm-topology")
        fields = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in container.get("env", [])}
        variable = re.fullmatch(r"\$\((\w+)\)\.matching:7103", settings.get("groups.replica", ""))
        if not variable or fields.get(variable.group(1)) != "metadata.name":
            problems.append(f"matching: groups.replica {settings.get('groups.replica')!r} must be $(VAR).matching:7103 with VAR from metadata.name")
        pods = {f"matching-{i}.matching:7103" for i in range(matching_set["spec"].get("replicas", 1))}
        if set(seen) != pods:
            problems.append(f"topology matching_groups name {sorted(set(seen))}, the matching pods are {sorted(pods)}")
    summary += f"; matching in {len(groups)} groups"

for c in find("ConfigMap"):
    if c["metadata"]["name"].startswith("crm-config"):
        for name, text in c["data"].items():
            settings = json.loads(text)
            if settings.get("tokens") or settings.get("peerToken"):
                problems.append(f"crm-config/{name}: tokens belong in the crm-tokens Secret (tokensFile), not the ConfigMap")

if problems:
    print(f"check-deploy: overlay {overlay}:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: overlay {overlay}: {len(objects)} objects valid; " + ", ".join(
    f"{n} x{s['spec'].get('replicas', 1)}" for n, s in sets.items()) + summary)
EOF
done
echo "check-deploy: ${#overlays[@]} overlays rendered and valid against Kubernetes ${versions[*]} (strict schemas)"
