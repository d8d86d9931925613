"""Secrets mounted the way Kubernetes mounts a Secret or ConfigMap volume: files are symlinks
into a timestamped directory through `..data`, and an update swaps `..data` atomically instead
of writing any file. tern's file watch must see the swap and reload, and live allocations
must keep their keys."""
import base64
import hashlib
import hmac
import os
import tempfile
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern


def rest_credential(secret, name):
    user = "%d:%s" % (int(time.time()) + 600, name)
    return user, base64.b64encode(hmac.new(secret.encode(), user.encode(),
                                           hashlib.sha1).digest()).decode()


class AtomicWriterVolume:
    """The kubelet's atomic writer layout: DIR/..TIMESTAMP/<key>, DIR/..data -> ..TIMESTAMP,
    DIR/<key> -> ..data/<key>."""

    def __init__(self, root, key):
        self.root, self.key, self.generation = root, key, 0
        os.symlink(os.path.join("..data", key), os.path.join(root, key))

    def publish(self, content):
        self.generation += 1
        version = "..2026_12_02_00_00_%02d.%d" % (self.generation, os.getpid())
        os.mkdir(os.path.join(self.root, version))
        with open(os.path.join(self.root, version, self.key), "w") as f:
            f.write(content)
        old = os.path.join(self.root, "..data")
        previous = os.readlink(old) if os.path.islink(old) else None
        tmp = os.path.join(self.root, "..data_tmp")
        os.symlink(version, tmp)
        os.rename(tmp, old)  # the atomic swap: no file is ever written in place
        if previous:
            os.remove(os.path.join(self.root, previous, self.key))
            os.rmdir(os.path.join(self.root, previous))


class KubernetesSecretVolumeTest(unittest.TestCase):
    def test_swapping_data_symlink_reloads_secrets_and_keeps_allocations(self):
        volume_dir = tempfile.TemporaryDirectory(prefix="tern-k8s-secret-")
        self.addCleanup(volume_dir.cleanup)
        volume = AtomicWriterVolume(volume_dir.name, "secrets")
        volume.publish("first-secret\n")
        path = os.path.join(volume_dir.name, "secrets")
        with Tern("relay: {address: 127.0.0.1, min_port: 46300, max_port: 46309}\n"
                  "auth: {secrets_file: %s}\n" % path) as t:
            old = tc.TurnClient(t.addr("udp"), *rest_credential("first-secret", "old"))
            self.addCleanup(old.close)
            self.assertEqual(old.allocate()[0], 0x0103)

            volume.publish("second-secret\n")
            deadline = time.time() + 15
            code = None
            while time.time() < deadline:
                c = tc.TurnClient(t.addr("udp"), *rest_credential("second-secret", "new"))
                mtype, _, attrs = c.allocate()
                code = 200 if mtype == 0x0103 else tc.error_code(attrs or [])
                if code == 200:
                    c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
                c.close()
                if code == 200:
                    break
                time.sleep(0.5)
            self.assertEqual(code, 200, "the swapped-in secret was never picked up:\n" +
                             "".join(t.output[-10:]))
            # The first secret is gone for new credentials...
            gone = tc.TurnClient(t.addr("udp"), *rest_credential("first-secret", "late"))
            self.addCleanup(gone.close)
            self.assertEqual(tc.error_code(gone.allocate()[2]), 401)
            # ...but the allocation made with it lives on and refreshes.
            mtype, _, _ = old.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\x02\x58"))
            self.assertEqual(mtype, 0x0104)


if __name__ == "__main__":
    unittest.main()
