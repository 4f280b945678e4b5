"""Starts the azure-emulator binary once per session and points the official Azure SDKs at it.

EMULATOR_BIN names the binary (run.sh sets it). The fixture writes the cloud config (one tenant with an app
that has a secret and a certificate, a subscription, identities, a VM with an IMDS and a scale set), waits for
the ready file, and trusts the emulator's CA through REQUESTS_CA_BUNDLE and SSL_CERT_FILE.
"""
import datetime
import json
import os
import subprocess
import time
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-0000-0000-0000-00000000aaaa"
RG = "nodes"
CLIENT = "c0ffee00-0000-0000-0000-000000000001"
SECRET = "s3cret-value"


def identity_id(name):
    return f"/subscriptions/{SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


def machine_id(kind, name):
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/{kind}/{name}"


def self_signed(common_name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


class Cloud:
    def __init__(self, ready, cert_pem, key_pem):
        self.authority = ready["authority_host"]
        self.arm = ready["arm_endpoint"]
        self.admin_url = ready["admin_url"]
        self.ca_file = ready["ca_file"]
        self.imds = ready["imds"][0]["url"]
        self.cert_pem = cert_pem
        self.key_pem = key_pem

    def admin(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.admin_url + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def counter(self, name):
        return self.admin("/admin/state")["counters"].get(name, 0)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    binary = os.environ.get("EMULATOR_BIN")
    if not binary:
        pytest.fail("EMULATOR_BIN must name the azure-emulator binary")
    work = tmp_path_factory.mktemp("emulator")
    cert_pem, key_pem = self_signed("sdk-app")
    config = {
        "tenants": [{"tenant_id": TENANT, "apps": [{"client_id": CLIENT, "secrets": [SECRET],
                                                   "certificate_pems": [cert_pem.decode()]}]}],
        "subscriptions": [{"subscription_id": SUB, "tenant_id": TENANT, "resource_groups": [RG, "ids"]}],
        "identities": [{"subscription_id": SUB, "resource_group": "ids", "name": n} for n in ("id-a", "id-b", "id-c")],
        "vms": [{"subscription_id": SUB, "resource_group": RG, "name": "vm-0", "identities": [identity_id("id-a")]}],
        "scale_sets": [{"subscription_id": SUB, "resource_group": RG, "name": "ss-0", "capacity": 2}],
        "latencies": {"vm_ms": 300, "vmss_ms": 300, "retry_after_s": 1},
        "imds": [{"machine_id": machine_id("virtualMachines", "vm-0")}],
    }
    (work / "config.json").write_text(json.dumps(config))
    ready_file = work / "ready.json"
    proc = subprocess.Popen([binary, "--config", str(work / "config.json"), "--ready-file", str(ready_file),
                             "--ca-file", str(work / "ca.pem")], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("azure-emulator did not become ready")
        time.sleep(0.05)
    ready = json.loads(ready_file.read_text())
    os.environ["REQUESTS_CA_BUNDLE"] = ready["ca_file"]
    os.environ["SSL_CERT_FILE"] = ready["ca_file"]
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ["no_proxy"] = "127.0.0.1,localhost"
    for var in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
                "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_SERVER_THUMBPRINT"):
        os.environ.pop(var, None)
    yield Cloud(ready, cert_pem, key_pem)
    proc.terminate()
    proc.wait(timeout=10)
