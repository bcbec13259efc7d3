// Test support: start real daemons (etcd, dockerd) as child processes, wait for a condition
// with a deadline, and kill them by PID when the test ends.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace berth::test {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(std::vector<std::string> argv, const std::string& log_file);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  int pid() const { return pid_; }
  void kill(int signal = 15);  // signals and waits for exit

 private:
  int pid_ = -1;
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
// A TCP port nobody listens on right now.
int free_port();
// A fresh empty directory under /tmp, removed with remove_tree.
std::string make_temp_dir(const std::string& tag);
void remove_tree(const std::string& path);
// Runs a shell command, returns its exit status; output into *out when given.
int run_command(const std::string& command, std::string* out = nullptr);

// A single-member etcd on free ports, in its own temporary directory.
class EtcdServer {
 public:
  EtcdServer();
  ~EtcdServer();
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  void stop();
  void start();

 private:
  std::string dir_;
  int client_port_ = 0, peer_port_ = 0;
  ChildProcess process_;
};

// A private dockerd in the root namespace with its own socket and folders.
class DockerDaemon {
 public:
  DockerDaemon();
  ~DockerDaemon();
  std::string socket_path() const { return dir_ + "/docker.sock"; }
  std::string endpoint() const { return "unix://" + socket_path(); }

 private:
  std::string dir_;
  ChildProcess process_;
};

}  // namespace berth::test
