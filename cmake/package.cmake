# The Debian package (`make deb`, CPack's DEB generator): /usr/bin/berth, the systemd units
# berth-server.service and berth-agent.service, and their settings /etc/berth/{server,agent}.env
# (conffiles). Files are in packaging/.
include(GNUInstallDirs)
install(TARGETS berth RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES packaging/berth-server.service packaging/berth-agent.service
  DESTINATION /lib/systemd/system)
install(FILES packaging/server.env packaging/agent.env DESTINATION /etc/berth)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME berth)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "berth maintainers <berth@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted databases as a service on your own Docker hosts")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "berth gives anyone with a token a Redis, Tarantool or memcached database in about a second,
by REST API or command line, in a container on your own Docker hosts. One binary is the server
(berth-server.service), the agent of a Docker host (berth-agent.service) and the command line
client. Configure /etc/berth/server.env or agent.env, then enable the service.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # berth_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared libraries (libc, libstdc++, OpenSSL, fmt) from dpkg-shlibdeps. Nothing else is a hard
# dependency: a server needs only an etcd it can reach (often on another machine), an agent a
# dockerd; the engines' binaries are what an agent builds its images from.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "etcd-server, etcd-client, redis-server, redis-tools, tarantool, memcached, sasl2-bin, postgresql-15")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/conffiles ${CMAKE_SOURCE_DIR}/packaging/postinst
  ${CMAKE_SOURCE_DIR}/packaging/prerm ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The build keeps debug information (RelWithDebInfo, ~340 MB); the package does not.
set(CPACK_STRIP_FILES ON)
include(CPack)
