"""The bucket behind an output location: built with obstore from each cloud's own standard
variables and credential chains, never from the manifest and never from a variable of ours.

    s3://  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or
           AWS_DEFAULT_REGION, AWS_ENDPOINT_URL (MinIO, Ceph, R2), AWS_ALLOW_HTTP; IRSA through
           AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; ECS/EKS Pod Identity; else the instance
           profile.
    gs://  GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT*); else the metadata server
           (GKE Workload Identity, the node's service account).
    az://  AZURE_STORAGE_ACCOUNT_NAME (or AZURE_STORAGE_ACCOUNT, the az CLI's name), with
           AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN, a service principal (AZURE_CLIENT_ID,
           AZURE_TENANT_ID, AZURE_CLIENT_SECRET), workload identity (AZURE_FEDERATED_TOKEN_FILE);
           else the managed identity.

obstore reads these variables itself; this module only says which are set (`credential_source`,
for `orchestrator config`, secrets masked), lists the secret values for the log redaction
(`storage_secrets`), and proves the bucket usable before any API request (`check_access`).
Every obstore error is mapped here (`storage_error`), so none escapes the storage edge.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import AzureStore, GCSStore, S3Store

from orchestrator.core.location import SETTING, Location
from orchestrator.core.redact import MASK, sanitize
from orchestrator.errors import SettingsError

if TYPE_CHECKING:
    from obstore.store import ObjectStore, RetryConfig

VARIABLES: dict[str, tuple[str, ...]] = {
    "s3": (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ALLOW_HTTP",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ),
    "gs": (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_SERVICE_ACCOUNT",
        "GOOGLE_SERVICE_ACCOUNT_PATH",
        "GOOGLE_SERVICE_ACCOUNT_KEY",
    ),
    "az": (
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_SAS_KEY",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_STORAGE_ENDPOINT",
        "AZURE_STORAGE_USE_EMULATOR",
    ),
}
"""The standard variables `config` reports for each cloud, when set."""
SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_CLIENT_SECRET",
    "AZURE_STORAGE_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_BEARER_TOKEN",
)
"""Variables whose values are secrets: masked by `config`, redacted from every log line."""
RETRY: RetryConfig = {"max_retries": 5, "retry_timeout": timedelta(seconds=60)}
"""obstore retries 5xx, 429 and connection errors; a minute bounds a shutdown's last writes. No
client options are passed: they would replace those obstore reads from the environment
(AWS_ALLOW_HTTP among them; checked against moto)."""
Failure = Literal["missing_bucket", "denied", "not_found", "exists", "precondition", "other"]


def build_store(location: Location, environ: Mapping[str, str] = os.environ) -> ObjectStore:
    """The obstore store of a bucket location, its paths relative to the location's prefix."""
    prefix = location.prefix or None
    try:
        if location.scheme == "s3":
            return S3Store(location.bucket, prefix=prefix, retry_config=RETRY)
        if location.scheme == "gs":
            return GCSStore(location.bucket, prefix=prefix, retry_config=RETRY)
        if location.scheme == "az":
            return _azure_store(location, prefix, environ)
    except (BaseError, ValueError) as error:
        raise SettingsError(
            f"{SETTING}: cannot use {location}: {describe_error(error)}; check the "
            f"{location.cloud} variables ({', '.join(VARIABLES[location.scheme][:3])}, ...)"
        ) from None
    raise ValueError(f"{location} is a local folder, not a bucket")


def _azure_store(location: Location, prefix: str | None, environ: Mapping[str, str]) -> AzureStore:
    """The account comes from AZURE_STORAGE_ACCOUNT_NAME (obstore's) or AZURE_STORAGE_ACCOUNT
    (the az CLI's); an az:// URL names only the container."""
    if environ.get("AZURE_STORAGE_ACCOUNT_NAME") or environ.get("AZURE_STORAGE_USE_EMULATOR"):
        return AzureStore(location.bucket, prefix=prefix, retry_config=RETRY)
    account = environ.get("AZURE_STORAGE_ACCOUNT")
    if not account:
        raise SettingsError(
            f"{SETTING}: {location} names a container but not its storage account: set "
            "AZURE_STORAGE_ACCOUNT_NAME (or AZURE_STORAGE_ACCOUNT)"
        )
    return AzureStore(
        location.bucket,
        prefix=prefix,
        retry_config=RETRY,
        account_name=account,
    )


def storage_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The secret values of the clouds' variables that are set, for the log redaction."""
    return [environ[name] for name in SECRET_VARIABLES if environ.get(name, "").strip()]


def credential_source(
    location: Location, environ: Mapping[str, str] = os.environ
) -> dict[str, object]:
    """Where the store's credentials come from, for `orchestrator config`: the chain obstore will
    use, and the standard variables that are set (secret values masked)."""
    if location.local:
        return {"store": location.url(), "kind": location.cloud}
    shown = {
        name: MASK if name in SECRET_VARIABLES else environ[name]
        for name in VARIABLES[location.scheme]
        if environ.get(name)
    }
    return {
        "store": location.url(),
        "kind": location.cloud,
        "credentials": _chain(location.scheme, environ),
        "variables": shown,
    }


def _chain(scheme: str, environ: Mapping[str, str]) -> str:
    """The first source of credentials obstore's chain will find, in words."""

    def has(*names: str) -> bool:
        return all(environ.get(name) for name in names)

    if scheme == "s3":
        if has("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            token = " with AWS_SESSION_TOKEN" if has("AWS_SESSION_TOKEN") else ""
            return f"static keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY{token}"
        if has("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            return "web identity (IRSA): AWS_ROLE_ARN with the token in AWS_WEB_IDENTITY_TOKEN_FILE"
        if has("AWS_CONTAINER_CREDENTIALS_FULL_URI") or has(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
        ):
            return "container credentials (ECS task role or EKS Pod Identity)"
        return "the instance metadata service (an EC2 instance profile), if there is one"
    if scheme == "gs":
        if (
            has("GOOGLE_SERVICE_ACCOUNT_KEY")
            or has("GOOGLE_SERVICE_ACCOUNT")
            or has("GOOGLE_SERVICE_ACCOUNT_PATH")
        ):
            return "a service account key from GOOGLE_SERVICE_ACCOUNT*"
        if has("GOOGLE_APPLICATION_CREDENTIALS"):
            return "the credentials file in GOOGLE_APPLICATION_CREDENTIALS"
        return "the metadata server (GKE Workload Identity or the node's service account)"
    if has("AZURE_STORAGE_ACCOUNT_KEY") or has("AZURE_STORAGE_ACCESS_KEY"):
        return "the account's shared key from AZURE_STORAGE_ACCOUNT_KEY"
    if has("AZURE_STORAGE_SAS_TOKEN") or has("AZURE_STORAGE_SAS_KEY"):
        return "a SAS token from AZURE_STORAGE_SAS_TOKEN"
    if has("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID"):
        return "workload identity: AZURE_CLIENT_ID with the token in AZURE_FEDERATED_TOKEN_FILE"
    if has("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"):
        return "a service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)"
    return "the managed identity (IMDS)"


async def check_access(store: ObjectStore, location: Location) -> None:
    """List the prefix, proving the bucket exists and the credentials may read it; a
    SettingsError (exit 2) says which is wrong, before any API request is spent."""
    try:
        await obstore.list_with_delimiter_async(store, None)
    except Exception as error:
        raise access_error(error, location, "list") from None


def access_error(error: Exception, location: Location, action: str) -> SettingsError:
    """A store error met before the run's work begins, as the settings error it amounts to."""
    kind = failure_of(error)
    cloud = location.cloud
    if kind == "missing_bucket":
        what = "container" if location.scheme == "az" else "bucket"
        return SettingsError(
            f"{SETTING}: the {what} {location.bucket!r} does not exist on {cloud}; create it, "
            f"or fix the URL {location}"
        )
    if kind == "denied":
        return SettingsError(
            f"{SETTING}: access denied to {location} ({action}): the credentials "
            f"({_chain(location.scheme, os.environ)}) may not use this prefix; check the role "
            f"or key and its policy: {describe_error(error)}"
        )
    return SettingsError(f"{SETTING}: cannot {action} {location}: {describe_error(error)}")


def failure_of(error: BaseException) -> Failure:
    """What a store error means, whatever the cloud said it with."""
    if isinstance(error, AlreadyExistsError):
        return "exists"
    if isinstance(error, PreconditionError):
        return "precondition"
    if isinstance(error, PermissionDeniedError | UnauthenticatedError):
        return "denied"
    text = str(error)
    if "NoSuchBucket" in text or "ContainerNotFound" in text or "bucket does not exist" in text:
        return "missing_bucket"
    if any(
        word in text
        for word in (
            "AccessDenied",
            "403 Forbidden",
            "401 Unauthorized",
            "AuthorizationFailure",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
        )
    ):
        return "denied"
    if isinstance(error, FileNotFoundError):
        return "not_found"
    return "other"


def describe_error(error: BaseException) -> str:
    """A store error in one short, sanitised line (obstore's own carry a debug dump)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return sanitize(text[:300], storage_secrets())
