"""The Debian package (`make deb`, CPack) and the deployment playbook (deploy/ansible).

Builds the package with cpack into a temporary folder, reads it with dpkg-deb, installs it on
this machine with dpkg (only when no berth package is installed and nothing else owns
/usr/bin/berth), checks `berth --version` and `systemd-analyze verify` on the installed units,
and purges it again. Checks the playbook with `ansible-playbook --syntax-check`."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BERTH, ROOT

BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
ANSIBLE = os.path.join(ROOT, "deploy", "ansible")
UNITS = ("berth-server.service", "berth-agent.service")
ENV_FILES = {"berth-server.service": "server.env", "berth-agent.service": "agent.env"}
# Settings berth reads from the environment itself, kept off the command line: secrets.
ENV_ONLY = {"BERTH_JOIN_TOKEN"}


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(berth VERSION ([0-9.]+)", f.read()).group(1)


def run(*argv, cwd=None, env=None, timeout=600):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def unit_settings(text):
    """A unit's ExecStart (continuation lines joined) and the variables Environment= sets."""
    text = re.sub(r"\\\n\s*", " ", text)
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
    defaults = set(re.findall(r"^Environment=(\w+)=", text, re.M))
    return exec_start, defaults


def installed(package):
    r = run("dpkg-query", "-W", "-f=${Status}", package)
    return r.returncode == 0 and "installed" in r.stdout.split()


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.version = project_version()
        cls.workdir = tempfile.mkdtemp(prefix="berth-test-package-")
        config = os.path.join(BUILD, "CPackConfig.cmake")
        assert os.path.exists(config), f"{config} is missing: configure the build first"
        r = run("cpack", "-G", "DEB", "--config", config, "-B", cls.workdir, cwd=BUILD)
        assert r.returncode == 0, r.stdout + r.stderr
        arch = run("dpkg", "--print-architecture").stdout.strip()
        cls.deb = os.path.join(cls.workdir, f"berth_{cls.version}_{arch}.deb")
        assert os.path.exists(cls.deb), f"cpack made no {cls.deb}: {r.stdout}"
        cls.tree = os.path.join(cls.workdir, "tree")
        r = run("dpkg-deb", "-x", cls.deb, cls.tree)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_package_holds_the_binary_units_and_settings(self):
        info = run("dpkg-deb", "--info", self.deb)
        self.assertEqual(info.returncode, 0, info.stderr)
        fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info.stdout, re.M))
        self.assertEqual(fields["Package"], "berth")
        self.assertEqual(fields["Version"], self.version)
        # dpkg-shlibdeps found the shared libraries; nothing else is a hard dependency.
        depends = fields["Depends"]
        for lib in ("libc6", "libstdc++6", "libssl3"):
            self.assertIn(lib, depends)
        self.assertNotIn("docker", depends)
        self.assertIn("docker.io", fields["Recommends"])
        contents = run("dpkg-deb", "--contents", self.deb)
        self.assertEqual(contents.returncode, 0, contents.stderr)
        paths = {line.split()[-1] for line in contents.stdout.splitlines()}
        for path in ("./usr/bin/berth", "./lib/systemd/system/berth-server.service",
                     "./lib/systemd/system/berth-agent.service", "./etc/berth/server.env",
                     "./etc/berth/agent.env"):
            self.assertIn(path, paths)
        self.assertRegex(contents.stdout, r"-rwxr-xr-x root/root +\d+ .* \./usr/bin/berth\n")
        conffiles = run("dpkg-deb", "--info", self.deb, "conffiles").stdout.split()
        self.assertEqual(sorted(conffiles), ["/etc/berth/agent.env", "/etc/berth/server.env"])
        # Stripped: the build's binary keeps its debug information, the package's does not.
        packaged = os.path.getsize(os.path.join(self.tree, "usr/bin/berth"))
        self.assertLess(packaged, os.path.getsize(BERTH) / 4)

    def test_units_pass_every_setting_as_a_real_flag_and_the_env_files_document_them(self):
        for unit, env_file in ENV_FILES.items():
            with open(os.path.join(self.tree, "lib/systemd/system", unit)) as f:
                exec_start, defaults = unit_settings(f.read())
            with open(os.path.join(self.tree, "etc/berth", env_file)) as f:
                documented = set(re.findall(r"^#?(BERTH_\w+)=", f.read(), re.M))
            role = unit.split("-")[1].split(".")[0]
            self.assertTrue(exec_start.startswith(f"/usr/bin/berth {role} "), exec_start)
            used = set(re.findall(r"\$\{?(\w+)\}?", exec_start))
            self.assertTrue(used, exec_start)
            # Every variable has a default in the unit and a documented line in the env file.
            self.assertEqual(used - defaults, set(), unit)
            self.assertEqual(used - documented, set(), env_file)
            # Secrets are read from the environment, never passed as a flag (seen in `ps`).
            self.assertEqual(documented - used - ENV_ONLY, set(), env_file)
            # Every flag the unit passes is one `berth ROLE` takes.
            help_text = run(BERTH, role, "--help").stdout
            for flag in re.findall(r"(--[a-z-]+)", exec_start):
                self.assertRegex(help_text, rf"\n  {flag} ", f"{unit}: {flag}")
            for name in documented & ENV_ONLY:
                self.assertIn(f"(Env:{name})", help_text, f"{unit}: {name}")

    def test_installs_prints_its_version_verifies_and_purges(self):
        if installed("berth"):
            self.skipTest("a berth package is installed on this machine: not touching it")
        if os.path.lexists("/usr/bin/berth"):
            self.skipTest("/usr/bin/berth exists and is no package's: not touching it")
        if os.geteuid() != 0:
            self.skipTest("installing a package needs root")
        # An interrupted run leaves this mark: scripts/cleanup-leftovers.sh then purges berth.
        open(os.path.join(self.workdir, "installed"), "w").close()
        r = run("dpkg", "-i", self.deb)
        try:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(installed("berth"))
            r = run("/usr/bin/berth", "--version")
            self.assertEqual((r.returncode, r.stdout), (0, f"berth {self.version}\n"), r.stderr)
            units = [os.path.join("/lib/systemd/system", u) for u in UNITS]
            r = run("systemd-analyze", "verify", *units)
            # verify exits 0 on some complaints (an unknown key, a bad value): any output fails.
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
            # The same check on a broken copy does complain.
            broken = os.path.join(self.workdir, "berth-server.service")
            with open(units[0]) as f:
                text = f.read().replace("/usr/bin/berth", "/usr/bin/berth-missing", 1)
            with open(broken, "w") as f:
                f.write(text.replace("Restart=on-failure", "Restart=sometimes"))
            r = run("systemd-analyze", "verify", broken)
            self.assertIn("berth-missing", r.stdout + r.stderr)
            self.assertIn("sometimes", r.stdout + r.stderr)
            r = run("dpkg-query", "-W", "-f=${Conffiles}", "berth")
            self.assertIn("/etc/berth/server.env", r.stdout)
        finally:
            r = run("dpkg", "--purge", "berth")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(installed("berth"))
        for path in ("/usr/bin/berth", "/etc/berth", *(f"/lib/systemd/system/{u}" for u in UNITS)):
            self.assertFalse(os.path.lexists(path), path)


class PlaybookTest(unittest.TestCase):
    def ansible(self, *argv):
        self.assertIsNotNone(shutil.which(argv[0]), f"{argv[0]} (Debian's ansible) is missing")
        with tempfile.TemporaryDirectory(prefix="berth-test-ansible-") as tmp:
            env = {**os.environ, "ANSIBLE_LOCAL_TEMP": tmp, "ANSIBLE_NOCOLOR": "1",
                   "HOME": tmp}
            return run(*argv, cwd=ANSIBLE, env=env, timeout=120)

    def test_syntax_check(self):
        r = self.ansible("ansible-playbook", "--syntax-check", "-i", "inventory.example.ini",
                         "site.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("WARNING", r.stdout + r.stderr)

    def test_example_inventory_has_servers_hosts_and_one_etcd(self):
        r = self.ansible("ansible-inventory", "-i", "inventory.example.ini", "--graph")
        self.assertEqual(r.returncode, 0, r.stderr)
        groups = dict(re.findall(r"@(\w+):\n((?:  \|  \|--.*\n)*)", r.stdout))
        members = {g: re.findall(r"--(\S+)", m) for g, m in groups.items()}
        self.assertGreaterEqual(len(members["servers"]), 1)
        self.assertGreaterEqual(len(members["hosts"]), 1)
        self.assertEqual(len(members["etcd"]), 1)


if __name__ == "__main__":
    unittest.main()
