# Installation layout and the Debian package (CPack DEB): `cpack -G DEB` in a Release build
# configured with CMAKE_INSTALL_PREFIX=/usr gives tern_<version>_amd64.deb (scripts/package.sh).
include(GNUInstallDirs)

install(TARGETS tern RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/tern.yaml DESTINATION /etc/tern
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/tern.service DESTINATION /lib/systemd/system)
# The drop-in that lets the kernel relay attach (docs/offload.md), for operators to copy.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/offload.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# tern(8) from the command line's own --help and --version (one source: server/app/cli.cpp),
# and the changelog of this native package, both compressed as Debian wants them.
find_program(TERN_HELP2MAN help2man)
set(TERN_GENERATED ${CMAKE_CURRENT_BINARY_DIR}/package)
if(TERN_HELP2MAN)
  add_custom_command(
    OUTPUT ${TERN_GENERATED}/tern.8.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TERN_GENERATED}
    COMMAND ${TERN_HELP2MAN} --no-info --section=8 --no-discard-stderr
            "--name=STUN/TURN relay server for WebRTC" --output=${TERN_GENERATED}/tern.8
            $<TARGET_FILE:tern>
    COMMAND gzip -9nf ${TERN_GENERATED}/tern.8
    DEPENDS tern
    COMMENT "tern(8) from tern --help")
  add_custom_target(tern_man ALL DEPENDS ${TERN_GENERATED}/tern.8.gz)
  install(FILES ${TERN_GENERATED}/tern.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()
file(WRITE ${TERN_GENERATED}/changelog
     "tern (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Release ${PROJECT_VERSION}; see /usr/share/doc/tern/README.md.\n\n"
     " -- tern developers <maintainers@tern-relay.org>  Wed, 02 Dec 2026 00:00:00 +0000\n")
add_custom_command(
  OUTPUT ${TERN_GENERATED}/changelog.gz
  COMMAND gzip -9nkf ${TERN_GENERATED}/changelog
  DEPENDS ${TERN_GENERATED}/changelog)
add_custom_target(tern_changelog ALL DEPENDS ${TERN_GENERATED}/changelog.gz)
install(FILES ${TERN_GENERATED}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tern)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tern developers <maintainers@tern-relay.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "STUN/TURN relay server for WebRTC")
set(CPACK_PACKAGE_DESCRIPTION "tern answers STUN Binding requests and relays media and data \
for\nWebRTC peers behind NATs and firewalls (TURN, RFC 8656) over UDP, TCP\nand TLS, with \
Prometheus metrics, live credential rotation and a\nhardened systemd unit.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the binary (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/postrm
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_STRIP_FILES ON)
include(CPack)
