#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace berth::test {

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& log_file) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setsid();
    int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  kill();
}

void ChildProcess::kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  // Give it 10 s to exit cleanly, then SIGKILL.
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string make_temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/berth-test-" + tag + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

int run_command(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (out) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

EtcdServer::EtcdServer() : dir_(make_temp_dir("etcd")) {
  client_port_ = free_port();
  peer_port_ = free_port();
  start();
}

void EtcdServer::start() {
  std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  process_ = ChildProcess({"etcd", "--name", "test", "--data-dir", dir_ + "/data",
                           "--listen-client-urls", client, "--advertise-client-urls", client,
                           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                           "--initial-cluster", "test=" + peer, "--log-level", "warn"},
                          dir_ + "/etcd.log");
  std::string health = "curl -sf " + client + "/health >/dev/null 2>&1";
  if (!wait_until([&] { return run_command(health) == 0; }, std::chrono::seconds(20)))
    throw std::runtime_error("etcd did not start; see " + dir_ + "/etcd.log");
}

void EtcdServer::stop() {
  process_.kill();
}

EtcdServer::~EtcdServer() {
  process_.kill();
  remove_tree(dir_);
}

DockerDaemon::DockerDaemon() : dir_(make_temp_dir("dockerd")) {
  process_ = ChildProcess({"dockerd", "--data-root", dir_ + "/data", "--exec-root", dir_ + "/exec",
                           "--pidfile", dir_ + "/docker.pid", "-H", "unix://" + socket_path(),
                           "--bridge=none", "--iptables=false", "--ip-masq=false"},
                          dir_ + "/dockerd.log");
  std::string ping = "curl -sf --unix-socket " + socket_path() + " http://d/_ping >/dev/null 2>&1";
  if (!wait_until([&] { return run_command(ping) == 0; }, std::chrono::seconds(30)))
    throw std::runtime_error("dockerd did not start; see " + dir_ + "/dockerd.log");
}

DockerDaemon::~DockerDaemon() {
  // Remove our containers first so no mount outlives the daemon.
  run_command("docker -H unix://" + socket_path() + " rm -f $(docker -H unix://" + socket_path() +
              " ps -aq) >/dev/null 2>&1");
  process_.kill();
  run_command("umount -R " + dir_ + "/exec >/dev/null 2>&1; umount -R " + dir_ +
              "/data >/dev/null 2>&1");
  remove_tree(dir_);
}

}  // namespace berth::test
