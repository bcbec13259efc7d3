// The host side of addresses without an overlay: a macvlan "shim" through which the host
// reaches its own macvlan containers (a parent cannot talk to its children), /32 routes to
// them, and the database address moved into a container's network namespace and announced
// with gratuitous ARP. Every step runs `ip`, `nsenter` or `arping` as a child process.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

namespace berth::agent {

class HostNetwork {
 public:
  HostNetwork(boost::asio::any_io_executor executor, std::string parent_interface);

  // Creates (or keeps) the shim interface with its own pool address.
  boost::asio::awaitable<void> ensure_shim(const std::string& shim_address);
  boost::asio::awaitable<void> route(const std::string& ip);
  boost::asio::awaitable<void> unroute(const std::string& ip);

  // Adds address/32 to eth0 inside the network namespace of process pid and announces it.
  boost::asio::awaitable<void> hold_address(int pid, const std::string& address);
  boost::asio::awaitable<void> drop_address(int pid, const std::string& address);
  // Drops every address held on eth0 in pid's namespace (the /32 ones an agent adds) but keep:
  // what an earlier run of the agent added and no longer remembers.
  boost::asio::awaitable<void> drop_other_addresses(int pid, const std::string& keep);
  // Announces that eth0 in pid's namespace has address (unsolicited ARP): an instance moved to
  // another host keeps its address, and neighbours must learn its new MAC.
  boost::asio::awaitable<void> announce(int pid, const std::string& address);
  // Deletes eth0 in pid's namespace: the container leaves the LAN and frees its address and
  // MAC at once, even if its namespace outlives it (dockerd is not there to clean up).
  boost::asio::awaitable<void> unplug(int pid);
  // Whether some other machine on the LAN answers for address (ARP duplicate address
  // detection from the parent interface; 400 ms at most when none does).
  boost::asio::awaitable<bool> answered_on_lan(const std::string& address);
  // Whether eth0 in pid's namespace holds address.
  boost::asio::awaitable<bool> holds_address(int pid, const std::string& address);

  static constexpr const char* kShim = "berth-shim";

 private:
  boost::asio::awaitable<int> run(std::vector<std::string> argv, std::string* output = nullptr);

  boost::asio::any_io_executor executor_;
  std::string parent_;
};

}  // namespace berth::agent
