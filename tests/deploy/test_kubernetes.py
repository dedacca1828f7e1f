"""deploy/kubernetes, offline: every resource a kustomization lists, and what `kubectl kustomize`
builds from it, validates strictly against the Kubernetes schemas of every supported version, and
carries the fields the nightly run and the sharded backfill rely on (the schemas check structure
only)."""

from __future__ import annotations

import argparse
import copy
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import kubernetes_validate
import pytest
import yaml

from orchestrator.cli import build_parser
from orchestrator.core.location import parse_location
from orchestrator.core.manifest import load_manifest
from orchestrator.core.planner import plan
from orchestrator.edges.metrics import LAST_SUCCESS, STATUSES
from orchestrator.edges.settings import DEFAULT_SECRETS_DIR, SECRET_FIELDS, Settings
from orchestrator.exit_codes import ExitCode
from tests.deploy.dockerfile import ROOT, parse
from tests.deploy.kustomize import build, built

KUBERNETES_VERSION = "1.37.0"
"""The newest version whose schemas kubernetes-validate 1.37 bundles."""
SUPPORTED_VERSIONS = ("1.29.0", "1.31.0", "1.34.0", KUBERNETES_VERSION)
"""The oldest supported minor release, two between, and the newest: every build must apply on all."""
DEPLOY = ROOT / "deploy" / "kubernetes"
NIGHTLY, BACKFILL = DEPLOY, DEPLOY / "backfill"
KUSTOMIZATIONS = [NIGHTLY, BACKFILL]

Resource = dict[str, Any]


def kustomization(folder: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((folder / "kustomization.yaml").read_text()))


@cache
def _documents(path: Path) -> tuple[Resource, ...]:
    """The YAML documents of a file, parsed once per test process (libyaml where available)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(doc for doc in yaml.load_all(path.read_text(), Loader=loader) if doc)


def resources(folder: Path) -> list[Resource]:
    """The objects a kustomization lists, plus the ConfigMaps its generator makes (named without
    kustomize's hash suffix); fresh copies, which a test may change."""
    config = kustomization(folder)
    found: list[Resource] = []
    for name in config["resources"]:
        found.extend(copy.deepcopy(_documents(folder / name)))
    for generator in config.get("configMapGenerator", []):
        data = {Path(f).name: (folder / f).read_text() for f in generator["files"]}
        found.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    return found


def one(folder: Path, kind: str) -> Resource:
    (found,) = [r for r in resources(folder) if r["kind"] == kind]
    return found


def nightly_job() -> Resource:
    return dict(one(NIGHTLY, "CronJob")["spec"]["jobTemplate"])


def backfill_job() -> Resource:
    return one(BACKFILL, "Job")


def container(job: Resource) -> Resource:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return dict(only)


def flag(job: Resource, name: str) -> str:
    args: list[str] = container(job)["args"]
    return args[args.index(name) + 1]


def env(job: Resource) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(job).get("env", [])}


def mounts(job: Resource) -> dict[str, Resource]:
    """Each mount path with the volume behind it."""
    spec = job["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container(job)["volumeMounts"]}


def run_options() -> set[str]:
    """Every option `orchestrator run` accepts."""
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        option for action in commands.choices["run"]._actions for option in action.option_strings
    }


JOBS = [pytest.param(nightly_job, id="nightly"), pytest.param(backfill_job, id="backfill")]


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=["nightly", "backfill"])
def test_every_listed_resource_validates_strictly(folder: Path) -> None:
    """Each resource of the kustomization, and its generated ConfigMap, is valid for Kubernetes
    1.37 with no unknown field (strict)."""
    listed = resources(folder)
    assert listed
    for resource in listed:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=["nightly", "backfill"])
def test_every_build_validates_strictly_on_every_supported_version(
    folder: Path, version: str
) -> None:
    """What `kubectl kustomize` renders (labels, generated names, images) is valid, with no unknown
    field, for Kubernetes 1.29, 1.31, 1.34 and 1.37."""
    rendered = build(folder)
    assert {r["kind"] for r in rendered} >= {"ConfigMap"}
    for resource in rendered:
        kubernetes_validate.validate(resource, version, strict=True)


def test_a_disruption_rule_without_status_fails_before_1_35() -> None:
    """The schemas before 1.35 require `status` in onPodConditions, which validating against the
    newest version alone did not show: the check above catches it."""
    cronjob = built(NIGHTLY, "CronJob")
    rules = cronjob["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    (condition,) = [c for rule in rules for c in rule.get("onPodConditions", [])]
    del condition["status"]
    kubernetes_validate.validate(cronjob, "1.37.0", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError, match="'status' is a required"):
        kubernetes_validate.validate(cronjob, "1.34.0", strict=True)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validation used above is strict: a misspelt field fails it."""
    cronjob = one(NIGHTLY, "CronJob")
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)


def test_the_cronjob_never_overlaps_and_skips_a_badly_missed_run() -> None:
    """Forbid, a time zone that is the manifest's, a starting deadline, and limited history."""
    cronjob = one(NIGHTLY, "CronJob")["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    manifest = load_manifest(NIGHTLY / "jobs.yaml")
    assert cronjob["timeZone"] == str(manifest.timezone)
    assert 0 < cronjob["startingDeadlineSeconds"] <= 6 * 3600
    assert re.fullmatch(r"\S+ \S+ \S+ \S+ \S+", cronjob["schedule"])
    assert nightly_job()["spec"]["backoffLimit"] >= 1


@pytest.mark.parametrize("job", JOBS)
def test_the_deadlines_nest(job: Any) -> None:
    """--grace < terminationGracePeriodSeconds, and --max-runtime leaves room for start-up under
    activeDeadlineSeconds, so Kubernetes never kills a run that would end cleanly by itself."""
    resource = job()
    grace = float(flag(resource, "--grace"))
    assert grace == Settings.model_fields["grace_seconds"].default
    assert resource["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= grace + 30
    max_runtime = float(flag(resource, "--max-runtime"))
    assert max_runtime + 300 <= resource["spec"]["activeDeadlineSeconds"]


def first_rule_for(rules: list[Resource], code: int) -> str | None:
    """The action of the first podFailurePolicy rule matching exit `code` (rules apply in order)."""
    for rule in rules:
        codes = rule.get("onExitCodes")
        if codes and (code in codes["values"]) == (codes["operator"] == "In"):
            return str(rule["action"])
    return None


@pytest.mark.parametrize("job", JOBS)
def test_bad_manifests_and_credentials_fail_at_once_and_disruptions_are_not_counted(
    job: Any,
) -> None:
    """podFailurePolicy fails the Job on exit 2 and 3 of our container, retries a held journal
    (75) as a counted failure, and ignores disruptions (with the `status` the older schemas
    require); restartPolicy is Never, as that policy requires."""
    resource = job()
    rules = resource["spec"]["podFailurePolicy"]["rules"]
    fail = [rule for rule in rules if rule["action"] == "FailJob"]
    assert [rule["onExitCodes"] for rule in fail] == [
        {
            "containerName": "orchestrator",
            "operator": "In",
            "values": [ExitCode.USAGE, ExitCode.CREDENTIALS],
        }
    ]
    assert first_rule_for(rules, ExitCode.LOCKED) == "Count"
    assert first_rule_for(rules, ExitCode.SOME_FAILED) is None  # the default: counted, retried
    ignore = [rule for rule in rules if rule["action"] == "Ignore"]
    assert [rule["onPodConditions"] for rule in ignore] == [
        [{"type": "DisruptionTarget", "status": "True"}]
    ]
    assert resource["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert container(resource)["name"] == "orchestrator"


@pytest.mark.parametrize("job", JOBS)
def test_the_pod_is_locked_down(job: Any) -> None:
    """Non-root as the image's user, read-only root filesystem, no privilege escalation, every
    capability dropped, the default seccomp profile, and requests and limits for CPU and memory."""
    resource = job()
    pod = resource["spec"]["template"]["spec"]
    uid = int(parse().stage("runtime").last("USER").arguments.split(":")[0])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    assert pod["securityContext"]["fsGroup"] == uid
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container(resource)["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    limits = container(resource)["resources"]
    for kind in ("requests", "limits"):
        assert set(limits[kind]) >= {"cpu", "memory"}


@pytest.mark.parametrize("job", JOBS)
def test_the_mounts_are_where_the_tool_and_the_image_look(job: Any) -> None:
    """The manifest ConfigMap at /config (holding jobs.yaml, the path in args), the credentials
    Secret at the tool's secrets folder, the output PVC at /data (--out), an emptyDir at /tmp; and
    nothing else is writable."""
    resource = job()
    mounted = mounts(resource)
    assert set(mounted) == {"/config", str(DEFAULT_SECRETS_DIR), "/data", "/tmp"}
    assert "configMap" in mounted["/config"]
    assert container(resource)["args"][:4] == ["run", "/config/jobs.yaml", "--out", "/data"]
    assert mounted[str(DEFAULT_SECRETS_DIR)]["secret"]["secretName"] == "orchestrator-credentials"
    assert mounted["/data"]["persistentVolumeClaim"]["claimName"] == "orchestrator-data"
    assert "emptyDir" in mounted["/tmp"]
    read_only = {m["mountPath"] for m in container(resource)["volumeMounts"] if m.get("readOnly")}
    assert read_only == {"/config", str(DEFAULT_SECRETS_DIR)}
    assert flag(resource, "--metrics-file").startswith("/data/")


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=["nightly", "backfill"])
def test_the_manifest_configmap_is_generated_from_a_valid_jobs_yaml(folder: Path) -> None:
    """configMapGenerator makes the ConfigMap the pods mount, from a jobs.yaml the tool accepts."""
    (generator,) = kustomization(folder)["configMapGenerator"]
    assert generator["files"] == ["jobs.yaml"]
    job = nightly_job() if folder == NIGHTLY else backfill_job()
    assert mounts(job)["/config"]["configMap"]["name"] == generator["name"]
    planned = plan(load_manifest(folder / "jobs.yaml"), as_of=date(2026, 11, 29))
    assert planned.jobs


def example(name: str) -> Resource:
    """The one object of an example file kept beside the kustomization (not in its resources)."""
    (found,) = copy.deepcopy(_documents(NIGHTLY / name))
    return found


def test_the_secret_example_holds_the_three_credentials_as_marked_placeholders() -> None:
    """The example Secret has exactly the files the tool reads, each an obvious placeholder."""
    secret = example("secret.example.yaml")
    assert secret["metadata"]["name"] == "orchestrator-credentials"
    assert set(secret["stringData"]) == set(SECRET_FIELDS)
    assert all(value.startswith("REPLACE-ME") for value in secret["stringData"].values())
    assert "PLACEHOLDER" in (NIGHTLY / "secret.example.yaml").read_text()
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


def test_no_secret_is_applied_so_a_reapply_never_overwrites_the_real_one() -> None:
    """Neither build holds a Secret, and no listed file is an example; the examples name the
    ways to create it (files, the External Secrets Operator, the Secrets Store CSI driver)."""
    for folder in KUSTOMIZATIONS:
        assert "Secret" not in {r["kind"] for r in build(folder)}
        assert not [name for name in kustomization(folder)["resources"] if "example" in name]
    text = (NIGHTLY / "secret.example.yaml").read_text()
    for way in ("kubectl create secret generic", "externalsecret.example.yaml", "secrets-store"):
        assert way in text, way


def test_the_external_secret_makes_the_secret_the_pods_mount() -> None:
    """The ExternalSecret example (ESO's v1 API) targets the Secret name the pods mount and maps
    exactly the three keys the tool reads, from a store marked as a placeholder."""
    external = example("externalsecret.example.yaml")
    assert (external["apiVersion"], external["kind"]) == (
        "external-secrets.io/v1",
        "ExternalSecret",
    )
    spec = external["spec"]
    mounted = mounts(nightly_job())[str(DEFAULT_SECRETS_DIR)]["secret"]["secretName"]
    assert spec["target"]["name"] == mounted
    assert [item["secretKey"] for item in spec["data"]] == list(SECRET_FIELDS)
    assert all(item["remoteRef"]["key"] for item in spec["data"])
    assert {"kind", "name"} <= set(spec["secretStoreRef"])
    assert "PLACEHOLDER" in (NIGHTLY / "externalsecret.example.yaml").read_text()


def test_the_claim_is_read_write_once_and_says_what_a_backfill_over_nodes_needs() -> None:
    """The PVC is ReadWriteOnce for the CronJob; its comments name ReadWriteMany for shards on
    several nodes and the per-shard journal files."""
    claim = one(NIGHTLY, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "orchestrator-data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    text = (NIGHTLY / "pvc.yaml").read_text()
    assert "ReadWriteMany" in text and "journal.shard-I-of-N" in text


def test_the_backfill_is_an_indexed_job_whose_shard_count_is_its_completions() -> None:
    """completionMode Indexed, N = completions = parallelism = ORCHESTRATOR_SHARDS, each pod runs
    `--shard $(JOB_COMPLETION_INDEX)/$(ORCHESTRATOR_SHARDS)` and writes its own metrics file."""
    job = backfill_job()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    shards = int(env(job)["ORCHESTRATOR_SHARDS"])
    assert shards > 1
    assert spec["completions"] == spec["parallelism"] == shards
    assert flag(job, "--shard") == "$(JOB_COMPLETION_INDEX)/$(ORCHESTRATOR_SHARDS)"
    # one metrics file name for every pod: a sharded run adds `.shard-I-of-N` to it itself
    # (tests/integration/test_shards_metrics.py), so shards never overwrite each other's
    assert flag(job, "--metrics-file") == "/data/orchestrator-backfill.prom"
    assert "backoffLimitPerIndex" in spec


def test_the_backfill_reuses_the_nightly_secret_and_claim() -> None:
    """The backfill mounts the Secret the nightly mounts (created once, as secret.example.yaml
    says) and the PVC the nightly kustomization creates, and creates neither itself."""
    kinds = {r["kind"] for r in resources(BACKFILL)}
    assert kinds == {"Job", "ConfigMap"}
    created = {(r["kind"], r["metadata"]["name"]) for r in resources(NIGHTLY)}
    volumes = mounts(backfill_job())
    secret = volumes[str(DEFAULT_SECRETS_DIR)]["secret"]["secretName"]
    assert secret == mounts(nightly_job())[str(DEFAULT_SECRETS_DIR)]["secret"]["secretName"]
    assert secret == example("secret.example.yaml")["metadata"]["name"]
    assert (
        "PersistentVolumeClaim",
        volumes["/data"]["persistentVolumeClaim"]["claimName"],
    ) in created


@pytest.mark.parametrize("job", JOBS)
def test_every_flag_in_the_manifests_is_one_orchestrator_run_accepts(job: Any) -> None:
    """The flags the pods pass exist in `orchestrator run` (checked once the sharding and metrics
    flags of issue 10 are in the CLI; until then this says so and skips)."""
    known = run_options()
    if not {"--shard", "--metrics-file"} & known:
        pytest.skip(
            "`orchestrator run` has no --shard or --metrics-file yet (issue 10, metrics branch)"
        )
    used = {arg for arg in container(job())["args"] if arg.startswith("--")}
    assert used <= known, used - known


def test_the_schedule_exists_exactly_once_every_day_in_its_zone() -> None:
    """The nightly runs at a fixed local time outside 01:00-03:00 that is neither skipped
    (spring forward) nor repeated (fall back) on any day of ten years in the CronJob's zone."""
    cronjob = one(NIGHTLY, "CronJob")["spec"]
    minute, hour, *every = cronjob["schedule"].split()
    assert every == ["*", "*", "*"]
    at = time(int(hour), int(minute))
    assert not time(1) <= at < time(3)
    zone = ZoneInfo(cronjob["timeZone"])
    day = date(2026, 1, 1)
    while day < date(2036, 1, 1):
        local = datetime.combine(day, at, tzinfo=zone)
        round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(zone)
        assert round_trip.replace(tzinfo=None) == local.replace(tzinfo=None), f"{day}: skipped"
        assert local.utcoffset() == local.replace(fold=1).utcoffset(), f"{day}: twice"
        day += timedelta(days=1)


def test_the_nightly_range_catches_up_on_missed_nights() -> None:
    """Every window of a day is planned, with the same job keys, by the three nightly runs after
    it: two skipped or failed nights in a row lose nothing, and the journal reuses the rest, also
    in the weeks of both daylight-saving changes (March 8 and November 1, 2026, in Chicago)."""
    manifest = load_manifest(NIGHTLY / "jobs.yaml")
    days = [date(2026, 3, 5) + timedelta(days=n) for n in range(7)]
    days += [date(2026, 10, 29) + timedelta(days=n) for n in range(7)]
    for exported in days:
        keys = [
            {
                job.key
                for job in plan(manifest, as_of=exported + timedelta(days=after)).jobs
                if job.window.start.date() == exported
            }
            for after in (1, 2, 3)
        ]
        assert keys[0] and keys[0] == keys[1] == keys[2], exported


def test_the_pods_carry_the_labels_the_network_policy_selects() -> None:
    """kustomize puts the common labels on the CronJob's Jobs and pods and on the backfill's pods
    (includeTemplates), so `-l app.kubernetes.io/name=orchestrator` finds them; the
    NetworkPolicy's podSelector matches both, and no selector was rewritten."""
    pairs = kustomization(NIGHTLY)["labels"][0]["pairs"]
    assert kustomization(BACKFILL)["labels"][0]["pairs"] == pairs
    cronjob = built(NIGHTLY, "CronJob")["spec"]["jobTemplate"]
    job = built(BACKFILL, "Job")
    templates = [cronjob, cronjob["spec"]["template"], job["spec"]["template"]]
    for template in templates:
        assert template["metadata"]["labels"].items() >= pairs.items()
    selector = built(NIGHTLY, "NetworkPolicy")["spec"]["podSelector"]
    assert selector == one(NIGHTLY, "NetworkPolicy")["spec"]["podSelector"]
    for pod in templates[1:]:
        assert pod["metadata"]["labels"].items() >= selector["matchLabels"].items()


def comment_of(folder: Path, name: str, field: str) -> str:
    """The comment at the end of the line that sets `field:` in a file of the kustomization."""
    (line,) = [line for line in (folder / name).read_text().splitlines() if f" {field}:" in line]
    return line.partition("#")[2]


def test_the_history_limits_say_what_they_keep() -> None:
    """The comments beside the history limits state their values, and the week of
    ttlSecondsAfterFinished is not claimed as how long a nightly's Jobs are kept."""
    cronjob = one(NIGHTLY, "CronJob")["spec"]
    for field, kind in (
        ("successfulJobsHistoryLimit", "successful"),
        ("failedJobsHistoryLimit", "failed"),
    ):
        assert f"the last {cronjob[field]} {kind} Jobs" in comment_of(
            NIGHTLY, "cronjob.yaml", field
        )
    ttl = comment_of(NIGHTLY, "cronjob.yaml", "ttlSecondsAfterFinished")
    assert "upper bound" in ttl and "kept a week" not in ttl
    assert nightly_job()["spec"]["ttlSecondsAfterFinished"] == 7 * 24 * 3600


def test_the_network_policy_allows_dns_https_and_the_pushgateway_only() -> None:
    """Egress: DNS (53 over UDP and TCP) to the cluster resolver, TCP 443 anywhere, TCP 9091 to
    the Pushgateway, each rule limited to its ports; ingress: none."""
    policy = one(NIGHTLY, "NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy.get("ingress", []) == []
    allowed = {}
    for rule in policy["egress"]:
        assert rule["ports"], "a rule without ports opens every port"
        for port in rule["ports"]:
            allowed[(port["protocol"], port["port"])] = rule.get("to")
    assert set(allowed) == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 9091)}
    assert allowed[("UDP", 53)] == allowed[("TCP", 53)]
    (dns,) = allowed[("UDP", 53)]
    assert dns["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert allowed[("TCP", 443)] is None  # the API and its storage: any address
    (gateway,) = allowed[("TCP", 9091)]
    namespace = gateway["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    # the commented-out ORCHESTRATOR_PUSHGATEWAY of the CronJob points where the policy allows
    assert f".{namespace}.svc:9091" in (NIGHTLY / "cronjob.yaml").read_text()


def test_the_prometheus_rule_alerts_on_staleness_and_failed_jobs() -> None:
    """The sample PrometheusRule alerts when no unsharded run succeeded for 26 hours and when the
    last run had failed jobs, on metric names and statuses the tool writes."""
    rule = example("prometheusrule.yaml")
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    alerts = {alert["alert"]: alert for group in rule["spec"]["groups"] for alert in group["rules"]}
    stale = alerts["OrchestratorNoRecentSuccess"]["expr"]
    assert stale == f'time() - {LAST_SUCCESS}{{shard=""}} > 26 * 3600'
    failed = alerts["OrchestratorJobsFailed"]["expr"]
    statuses = re.fullmatch(r'orchestrator_run_jobs\{status=~"([a-z_|]+)"\} > 0', failed)
    assert statuses and "failed" in statuses[1].split("|")
    assert set(statuses[1].split("|")) <= set(STATUSES)
    for alert in alerts.values():
        assert alert["annotations"]["summary"] and alert["labels"]["severity"]


BUCKET = ROOT / "deploy" / "kubernetes-bucket"
OVERLAYS = [BUCKET / "nightly", BUCKET / "backfill"]


def built_job(folder: Path) -> Resource:
    """The Job (template) of an overlay's build: the backfill's Job or the CronJob's template."""
    rendered = build(folder)
    for resource in rendered:
        if resource["kind"] == "CronJob":
            return dict(resource["spec"]["jobTemplate"])
    (job,) = [r for r in rendered if r["kind"] == "Job"]
    return job


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("folder", OVERLAYS, ids=["bucket-nightly", "bucket-backfill"])
def test_the_bucket_overlays_validate_strictly_on_every_supported_version(
    folder: Path, version: str
) -> None:
    """What `kubectl kustomize` renders of the bucket overlays is valid, with no unknown field,
    for Kubernetes 1.29, 1.31, 1.34 and 1.37."""
    for resource in build(folder):
        kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize("folder", OVERLAYS, ids=["bucket-nightly", "bucket-backfill"])
def test_the_bucket_overlays_need_no_volume_and_write_to_a_bucket(folder: Path) -> None:
    """No claim is created or mounted, --out is a bucket URL the tool accepts, the pods run as
    the annotated ServiceAccount, and the backfill's pods may spread over nodes."""
    assert "PersistentVolumeClaim" not in {r["kind"] for r in build(folder)}
    job = built_job(folder)
    spec = job["spec"]["template"]["spec"]
    assert not [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
    assert not parse_location(flag(job, "--out")).local
    assert spec["serviceAccountName"] == "orchestrator"
    assert "affinity" not in spec


def test_the_service_account_is_annotated_for_irsa_and_workload_identity() -> None:
    """The ServiceAccount carries the EKS (IRSA) and GKE Workload Identity annotations, as marked
    placeholders, and mounts no Kubernetes API token."""
    account = built(BUCKET / "nightly", "ServiceAccount")
    assert set(account["metadata"]["annotations"]) == {
        "eks.amazonaws.com/role-arn",
        "iam.gke.io/gcp-service-account",
    }
    assert account["automountServiceAccountToken"] is False
    assert "PLACEHOLDER" in (BUCKET / "nightly" / "serviceaccount.yaml").read_text()


def test_a_backfill_on_the_read_write_once_claim_keeps_its_pods_on_one_node() -> None:
    """The shards that share the ReadWriteOnce claim are held on one node by pod affinity to each
    other; the claim's comments steer backfills over nodes to a bucket, since WAL fails on NFS."""
    job = backfill_job()
    (term,) = job["spec"]["template"]["spec"]["affinity"]["podAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert term["labelSelector"]["matchLabels"].items() <= labels.items()
    text = " ".join((NIGHTLY / "pvc.yaml").read_text().split())
    assert "deploy/kubernetes-bucket" in text and "WAL does not work" in text
