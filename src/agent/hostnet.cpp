#include "agent/hostnet.hpp"

#include <sstream>

#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace berth::agent {

namespace {
// Builds an argv. (A function, not a braced list: g++ 12 miscompiles braced lists whose
// backing array lives across co_await.)
template <class... Parts>
std::vector<std::string> argv(Parts&&... parts) {
  std::vector<std::string> out;
  (out.emplace_back(std::forward<Parts>(parts)), ...);
  return out;
}
}  // namespace

HostNetwork::HostNetwork(boost::asio::any_io_executor executor, std::string parent_interface)
    : executor_(std::move(executor)), parent_(std::move(parent_interface)) {}

boost::asio::awaitable<int> HostNetwork::run(std::vector<std::string> argv, std::string* output) {
  auto result = co_await util::run_process(executor_, argv);
  if (output) *output = result.output;
  co_return result.exit_code;
}

boost::asio::awaitable<void> HostNetwork::ensure_shim(const std::string& shim_address) {
  co_await run(
      argv("ip", "link", "add", kShim, "link", parent_, "type", "macvlan", "mode", "bridge"));
  std::string out;
  if (co_await run(argv("ip", "addr", "replace", shim_address + "/32", "dev", kShim), &out) != 0)
    throw std::runtime_error("cannot address " + std::string(kShim) + ": " + out);
  co_await run(argv("ip", "link", "set", kShim, "up"));
}

boost::asio::awaitable<void> HostNetwork::route(const std::string& ip) {
  std::string out;
  if (co_await run(argv("ip", "route", "replace", ip + "/32", "dev", kShim), &out) != 0)
    util::log("hostnet: route to {}: {}", ip, out);
}

boost::asio::awaitable<void> HostNetwork::unroute(const std::string& ip) {
  co_await run(argv("ip", "route", "del", ip + "/32", "dev", kShim));
}

boost::asio::awaitable<void> HostNetwork::hold_address(int pid, const std::string& address) {
  std::string ns = "--target=" + std::to_string(pid);
  std::string out;
  if (co_await run(
          argv("nsenter", ns, "--net", "ip", "addr", "replace", address + "/32", "dev", "eth0"),
          &out) != 0)
    throw std::runtime_error("cannot add " + address + " in the container: " + out);
  co_await announce(pid, address);
}

boost::asio::awaitable<void> HostNetwork::announce(int pid, const std::string& address) {
  // Unsolicited ARP: every neighbour updates its cache to this container's MAC at once.
  co_await run(argv("nsenter", "--target=" + std::to_string(pid), "--net", "arping", "-U", "-c",
                    "1", "-I", "eth0", address));
}

boost::asio::awaitable<void> HostNetwork::drop_address(int pid, const std::string& address) {
  co_await run(argv("nsenter", "--target=" + std::to_string(pid), "--net", "ip", "addr", "del",
                    address + "/32", "dev", "eth0"));
}

boost::asio::awaitable<void> HostNetwork::drop_other_addresses(int pid, const std::string& keep) {
  std::string out;
  co_await run(argv("nsenter", "--target=" + std::to_string(pid), "--net", "ip", "-o", "addr",
                    "show", "dev", "eth0"),
               &out);
  // Lines read "N: eth0    inet A.B.C.D/32 scope global eth0 ...".
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string word, address;
    while (words >> word)
      if (word == "inet" && words >> address) break;
    if (!address.ends_with("/32") || address == keep + "/32") continue;
    util::log("hostnet: dropping {} left in process {}'s namespace", address, pid);
    co_await run(argv("nsenter", "--target=" + std::to_string(pid), "--net", "ip", "addr", "del",
                      address, "dev", "eth0"));
  }
}

boost::asio::awaitable<void> HostNetwork::unplug(int pid) {
  co_await run(
      argv("nsenter", "--target=" + std::to_string(pid), "--net", "ip", "link", "del", "eth0"));
}

boost::asio::awaitable<bool> HostNetwork::answered_on_lan(const std::string& address) {
  // arping -D exits 1 as soon as a reply comes, 0 when none came; replies on a LAN take
  // milliseconds, so the wait for none is cut short.
  co_return co_await run(
      argv("timeout", "0.4", "arping", "-D", "-c", "1", "-w", "1", "-I", parent_, address)) == 1;
}

boost::asio::awaitable<bool> HostNetwork::holds_address(int pid, const std::string& address) {
  std::string out;
  co_await run(argv("nsenter", "--target=" + std::to_string(pid), "--net", "ip", "-o", "addr",
                    "show", "dev", "eth0"),
               &out);
  co_return out.find(" " + address + "/32") != std::string::npos;
}

}  // namespace berth::agent
