"""`tern check-config` and `tern --version` on the real binary."""
import os
import subprocess
import tempfile
import unittest

from harness import TERN


def tern(*args):
    p = subprocess.run([TERN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


class CheckConfigTest(unittest.TestCase):
    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_broken_file_names_every_line(self):
        path = self.write("realm: x\n"
                          "relay:\n"
                          "  min_port: 70000\n"
                          "log: {level: chatty}\n"
                          "bogus_key: 1\n")
        code, out, err = tern("check-config", path)
        self.assertNotEqual(code, 0)
        self.assertIn("%s:3:" % path, err)
        self.assertIn("%s:4:" % path, err)
        self.assertIn("%s:5:" % path, err)

    def test_a_private_relay_address_without_a_public_one_is_warned_about(self):
        users = "auth: {users: [{name: a, password: b}]}\n"
        for relay, warned in (("{address: 10.1.2.3}", True),
                              ("{address: 10.1.2.3, public_address: 203.0.113.1}", False),
                              ("{address: 127.0.0.1, extra_addresses: [192.168.7.7]}", True),
                              ("{address: 203.0.113.2}", False)):
            code, out, err = tern("check-config", self.write("relay: %s\n%s" % (relay, users)))
            self.assertEqual(code, 0, err)
            self.assertEqual("is private and relay.public_address is not set" in err, warned,
                             relay + ": " + err)

    def test_yaml_syntax_error_names_line(self):
        path = self.write("realm: x\nlisten:\n  - {transport: udp\n")
        code, out, err = tern("check-config", path)
        self.assertNotEqual(code, 0)
        self.assertRegex(err, r"%s:\d+:" % path)

    def test_good_file_passes(self):
        path = self.write("realm: example.org\nlisten:\n  - {transport: udp, address: 127.0.0.1, port: 3478}\n")
        code, out, err = tern("check-config", path)
        self.assertEqual(code, 0, err)

    def test_key_prints_the_long_term_keys(self):
        p = subprocess.run([TERN, "key", "--user", "user", "--realm", "realm"], input="pass\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^user md5=8493fbc53ba582fb4c044c456bdc40eb sha256=[0-9a-f]{64}\n$")

    def test_missing_users_file_is_an_error(self):
        path = self.write("realm: x\nauth: {users_file: /nonexistent/users}\n")
        code, out, err = tern("check-config", path)
        self.assertNotEqual(code, 0)
        self.assertIn("/nonexistent/users", err)

    def test_deploy_example_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "tern.example.yaml")
        code, out, err = tern("check-config", example)
        self.assertEqual(code, 0, err)

    def test_embedded_default_is_valid(self):
        code, out, _ = tern("print-default-config")
        self.assertEqual(code, 0)
        code, _, err = tern("check-config", self.write(out))
        self.assertEqual(code, 0, err)

    def test_version(self):
        code, out, _ = tern("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^tern \d+\.\d+\.\d+")

    def test_missing_file(self):
        code, _, err = tern("check-config", "/nonexistent/tern.yaml")
        self.assertNotEqual(code, 0)
        self.assertIn("/nonexistent/tern.yaml", err)


if __name__ == "__main__":
    unittest.main()
