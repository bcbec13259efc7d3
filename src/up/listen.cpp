#include "up/listen.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "tls/certs.hpp"

namespace berth::up {

std::optional<std::string> plain_http_refusal(const std::string& role, const std::string& listen,
                                              bool has_certificate, bool insecure_http) {
  if (has_certificate || insecure_http || tls::is_loopback_listen(listen)) return std::nullopt;
  return role + ": will not serve plain HTTP on " + listen +
         ", which other machines can reach (tokens and passwords would cross the network in "
         "clear): give --tls-cert and --tls-key, or --insecure-http to do it anyway";
}

std::vector<std::string> certificate_names(const std::string& listen) {
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) == 0 && host[0]) names.push_back(host);
  std::string address = listen.substr(0, listen.rfind(':'));
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  if (address.empty() || address == "0.0.0.0" || address == "::") {
    ifaddrs* all = nullptr;
    if (::getifaddrs(&all) == 0) {
      for (auto* a = all; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN];
        auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) names.push_back(text);
      }
      ::freeifaddrs(all);
    }
  } else if (address != "localhost") {
    names.push_back(address);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace berth::up
