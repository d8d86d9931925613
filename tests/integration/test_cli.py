"""The tern command line on the real binary: --help on every command, errors that name the bad
argument, usage errors exit 2, and a bash completion script generated from the same definitions."""
import subprocess
import unittest

from harness import TERN

COMMANDS = [
    [], ["serve"], ["check-config"], ["print-default-config"], ["key"], ["version"], ["status"],
    ["reload"], ["drain"], ["users"], ["users", "list"], ["users", "add"], ["users", "remove"],
    ["secrets"], ["secrets", "list"], ["secrets", "add"], ["secrets", "remove"],
    ["secrets", "promote"], ["credentials"], ["sessions"], ["sessions", "list"],
    ["sessions", "kill"], ["completion"], ["completion", "bash"],
]


def tern(*args, stdin=None):
    p = subprocess.run([TERN, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


class CliTest(unittest.TestCase):
    def test_every_command_has_help(self):
        for cmd in COMMANDS:
            code, out, err = tern(*cmd, "--help")
            self.assertEqual(code, 0, "%s --help: %s" % (cmd, err))
            self.assertIn("Usage: tern", out, cmd)
            if cmd:
                self.assertIn("tern " + " ".join(cmd), out, cmd)

    def test_help_lists_subcommands_and_options(self):
        self.assertIn("--config", tern("serve", "--help")[1])
        out = tern("users", "--help")[1]
        for sub in ("list", "add", "remove"):
            self.assertIn(sub, out)
        out = tern("--help")[1]
        for cmd in ("serve", "check-config", "key", "users", "secrets", "sessions", "credentials"):
            self.assertIn(cmd, out)

    def test_errors_name_the_bad_argument_and_exit_2(self):
        cases = [
            (["serve", "--bogus"], "--bogus"),
            (["serve", "--config", "/nonexistent/tern.yaml"], "/nonexistent/tern.yaml"),
            (["key", "--user"], "--user"),
            (["key", "--user", "u"], "--realm"),
            (["nosuch"], "nosuch"),
            (["users", "bogus"], "bogus"),
            (["users"], "subcommand"),
            (["check-config"], "FILE"),
            (["sessions", "kill"], "--user"),
            (["sessions", "kill", "--user", "a", "--id", "1"], "--id"),
        ]
        for args, named in cases:
            code, out, err = tern(*args)
            self.assertEqual(code, 2, "%s: %s" % (args, err))
            self.assertIn(named, err, args)
            self.assertIn("--help", err, args)
        code, _, err = tern()
        self.assertEqual(code, 2)
        self.assertIn("Usage: tern", err)

    def test_version(self):
        for args in (["--version"], ["version"]):
            code, out, _ = tern(*args)
            self.assertEqual(code, 0)
            self.assertRegex(out, r"^tern \d+\.\d+\.\d+")

    def test_bash_completion_is_valid_and_complete(self):
        code, script, _ = tern("completion", "bash")
        self.assertEqual(code, 0)
        p = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Complete "tern users " and "tern ser" in a real bash.
        probe = script + """
COMP_WORDS=(tern users ""); COMP_CWORD=2; _tern; echo "users: ${COMPREPLY[*]}"
COMP_WORDS=(tern ser); COMP_CWORD=1; _tern; echo "top: ${COMPREPLY[*]}"
COMP_WORDS=(tern credentials --t); COMP_CWORD=2; _tern; echo "opt: ${COMPREPLY[*]}"
"""
        p = subprocess.run(["bash", "-c", probe], text=True, capture_output=True)
        self.assertIn("users: list add remove", p.stdout)
        self.assertIn("top: serve", p.stdout)
        self.assertIn("opt: --ttl", p.stdout)


if __name__ == "__main__":
    unittest.main()
