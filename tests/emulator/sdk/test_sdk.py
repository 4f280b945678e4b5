"""Conformance: the emulator driven only through the official Azure SDKs for Python."""
import base64
import io
import json
import time
import urllib.request
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import (CertificateCredential, ClientAssertionCredential, ClientSecretCredential,
                            CredentialUnavailableError, ManagedIdentityCredential)
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import CLIENT, RG, SECRET, SUB, TENANT, identity_id, machine_id

ARM_SCOPE = "https://management.azure.com/.default"


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def verified_claims(cloud, token):
    """Checks the token's RS256 signature against the tenant's JWKS (found through discovery)."""
    header_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=__import__("ssl").create_default_context(
                                             cafile=cloud.ca_file)))
    config = json.load(opener.open(f"{cloud.authority}/{TENANT}/v2.0/.well-known/openid-configuration"))
    keys = json.load(opener.open(config["jwks_uri"]))["keys"]
    key = next(k for k in keys if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(key["e"]), "big"),
                                  int.from_bytes(b64url_decode(key["n"]), "big")).public_key()
    public.verify(b64url_decode(sig_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(b64url_decode(claims_b64))


def secret_credential(cloud):
    return ClientSecretCredential(TENANT, CLIENT, SECRET, authority=cloud.authority, disable_instance_discovery=True)


def compute(cloud, **kwargs):
    return ComputeManagementClient(secret_credential(cloud), SUB, base_url=cloud.arm, credential_scopes=[ARM_SCOPE],
                                   **kwargs)


def msi(cloud):
    return ManagedServiceIdentityClient(secret_credential(cloud), SUB, base_url=cloud.arm,
                                        credential_scopes=[ARM_SCOPE])


def user_ids(resource):
    return {k.lower() for k in (resource.identity.user_assigned_identities or {})}


# ---- azure-identity -------------------------------------------------------------------------------------


def test_client_secret_credential_gets_a_token_signed_by_the_tenant(cloud):
    token = secret_credential(cloud).get_token(ARM_SCOPE)
    claims = verified_claims(cloud, token.token)
    assert claims["tid"] == TENANT
    assert claims["azp"] == CLIENT
    assert claims["aud"].rstrip("/") == "https://management.azure.com"
    assert token.expires_on > time.time()


def test_wrong_client_secret_is_refused_with_aadsts7000215(cloud):
    cred = ClientSecretCredential(TENANT, CLIENT, "wrong", authority=cloud.authority, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as err:
        cred.get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(err.value)


def test_certificate_credential_signs_an_assertion_the_emulator_accepts(cloud):
    cred = CertificateCredential(TENANT, CLIENT, certificate_data=cloud.cert_pem + cloud.key_pem,
                                 authority=cloud.authority, disable_instance_discovery=True)
    claims = verified_claims(cloud, cred.get_token("https://vault.azure.net/.default").token)
    assert claims["azp"] == CLIENT
    assert claims["aud"] == "https://vault.azure.net"


def test_client_assertion_credential_exchanges_a_service_account_token(cloud):
    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = issuer_key.public_key().public_numbers()
    jwks = {"keys": [{"kty": "RSA", "kid": "sa", "n": b64url(numbers.n.to_bytes(256, "big")),
                      "e": b64url(numbers.e.to_bytes(3, "big"))}]}
    issuer = "https://oidc.cluster.local/sdk"
    subject = "system:serviceaccount:default:workload"
    cloud.admin("/admin/federated", {"tenant_id": TENANT, "client_id": CLIENT, "issuer": issuer, "subject": subject,
                                     "jwks": jwks})

    def sa_token(sub):
        now = int(time.time())
        header = b64url(json.dumps({"alg": "RS256", "kid": "sa", "typ": "JWT"}).encode())
        body = b64url(json.dumps({"iss": issuer, "sub": sub, "aud": ["api://AzureADTokenExchange"], "iat": now,
                                  "nbf": now, "exp": now + 3600}).encode())
        sig = issuer_key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{b64url(sig)}"

    good = ClientAssertionCredential(TENANT, CLIENT, lambda: sa_token(subject), authority=cloud.authority,
                                     disable_instance_discovery=True)
    assert verified_claims(cloud, good.get_token(ARM_SCOPE).token)["azp"] == CLIENT
    bad = ClientAssertionCredential(TENANT, CLIENT, lambda: sa_token("system:serviceaccount:default:other"),
                                    authority=cloud.authority, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as err:
        bad.get_token(ARM_SCOPE)
    assert "AADSTS70021" in str(err.value)


def test_managed_identity_credential_gets_tokens_only_for_attached_identities(cloud, monkeypatch):
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", cloud.imds)
    ids = msi(cloud).user_assigned_identities
    attached = ids.get("ids", "id-a")
    detached = ids.get("ids", "id-c")
    token = ManagedIdentityCredential(client_id=attached.client_id).get_token("https://vault.azure.net/.default")
    claims = json.loads(b64url_decode(token.token.split(".")[1]))
    assert claims["oid"] == attached.principal_id
    assert claims["xms_mirid"].lower() == identity_id("id-a").lower()
    with pytest.raises((ClientAuthenticationError, CredentialUnavailableError)) as err:
        ManagedIdentityCredential(client_id=detached.client_id).get_token("https://vault.azure.net/.default")
    assert "Identity not found" in str(err.value)


# ---- azure-mgmt-msi -------------------------------------------------------------------------------------


def test_recreating_an_identity_gives_new_client_and_principal_ids(cloud):
    ids = msi(cloud).user_assigned_identities
    first = ids.create_or_update("ids", "recreated", {"location": "eastus"})
    assert ids.get("ids", "recreated").client_id == first.client_id
    ids.delete("ids", "recreated")
    with pytest.raises(ResourceNotFoundError):
        ids.get("ids", "recreated")
    second = ids.create_or_update("ids", "recreated", {"location": "eastus"})
    assert second.client_id != first.client_id
    assert second.principal_id != first.principal_id


# ---- azure-mgmt-compute ---------------------------------------------------------------------------------


def test_vm_identity_update_through_the_poller_adds_and_removes(cloud):
    vms = compute(cloud).virtual_machines
    assert user_ids(vms.get(RG, "vm-0")) == {identity_id("id-a").lower()}
    added = vms.begin_update(RG, "vm-0", {"identity": {"type": "UserAssigned",
                                                       "userAssignedIdentities": {identity_id("id-b"): {}}}}).result()
    assert user_ids(added) == {identity_id("id-a").lower(), identity_id("id-b").lower()}
    assert added.provisioning_state == "Succeeded" if hasattr(added, "provisioning_state") else True
    body = json.dumps({"identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id("id-b"): None}}})
    removed = vms.begin_update(RG, "vm-0", io.BytesIO(body.encode()), content_type="application/json").result()
    assert user_ids(removed) == {identity_id("id-a").lower()}
    effective = cloud.admin("/admin/machine?id=" + machine_id("virtualMachines", "vm-0"))["effective"]
    assert [i["resource_id"].lower() for i in effective["user_assigned"]] == [identity_id("id-a").lower()]


def test_vmss_get_instances_and_identity_update(cloud):
    client = compute(cloud)
    assert len(list(client.virtual_machine_scale_set_vms.list(RG, "ss-0"))) == 2
    updated = client.virtual_machine_scale_sets.begin_update(
        RG, "ss-0", {"identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id("id-c"): {}}}}).result()
    assert identity_id("id-c").lower() in user_ids(updated)


def test_busy_scale_set_answers_409_to_a_concurrent_update(cloud):
    cloud.admin("/admin/latencies", {"vm_ms": 300, "vmss_ms": 3000, "retry_after_s": 1})
    try:
        sets = compute(cloud).virtual_machine_scale_sets
        first = sets.begin_update(RG, "ss-0", {"identity": {"type": "UserAssigned",
                                                             "userAssignedIdentities": {identity_id("id-b"): {}}}})
        with pytest.raises(HttpResponseError) as err:
            sets.begin_update(RG, "ss-0", {"identity": {"type": "UserAssigned",
                                                        "userAssignedIdentities": {identity_id("id-a"): {}}}})
        assert err.value.status_code == 409
        assert err.value.error.code == "Conflict"
        assert identity_id("id-b").lower() in user_ids(first.result())
    finally:
        cloud.admin("/admin/latencies", {"vm_ms": 300, "vmss_ms": 300, "retry_after_s": 1})


def test_more_than_150_identities_in_one_update_are_refused(cloud):
    many = {identity_id(f"bulk-{i}"): {} for i in range(151)}
    with pytest.raises(HttpResponseError) as err:
        compute(cloud).virtual_machines.begin_update(
            RG, "vm-0", {"identity": {"type": "UserAssigned", "userAssignedIdentities": many}})
    assert err.value.status_code == 400
    assert "exceed limit '150'" in str(err.value)


def test_assigning_without_permission_is_linked_authorization_failed(cloud):
    cloud.admin("/admin/assigners", {"identity_id": identity_id("id-c"), "principals": [str(uuid.uuid4())]})
    try:
        with pytest.raises(HttpResponseError) as err:
            compute(cloud).virtual_machines.begin_update(
                RG, "vm-0", {"identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id("id-c"): {}}}})
        assert err.value.status_code == 403
        assert err.value.error.code == "LinkedAuthorizationFailed"
    finally:
        cloud.admin("/admin/assigners", {"identity_id": identity_id("id-c"), "principals": []})


def test_throttling_429_carries_retry_after_and_the_sdk_honours_it(cloud):
    cloud.admin("/admin/budgets", {"reads": {"burst": 1, "per_second": 1}})
    try:
        no_retry = compute(cloud, retry_total=0).virtual_machines
        no_retry.get(RG, "vm-0")
        with pytest.raises(HttpResponseError) as err:
            no_retry.get(RG, "vm-0")
        assert err.value.status_code == 429
        assert int(err.value.response.headers["Retry-After"]) >= 1
        assert err.value.response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
        throttled = cloud.counter("arm.throttled")
        vms = compute(cloud).virtual_machines
        vms.get(RG, "vm-0")
        vms.get(RG, "vm-0")  # throttled, then retried by the SDK after Retry-After
        assert cloud.counter("arm.throttled") > throttled
    finally:
        cloud.admin("/admin/budgets", {"reads": {"burst": 250, "per_second": 25},
                                       "writes": {"burst": 200, "per_second": 10}})
