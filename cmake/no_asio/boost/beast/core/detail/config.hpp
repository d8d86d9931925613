// Layering guard: this directory is first on the include path of protocol/ and server/core/.
#error "protocol/ and server/core/ must not include Asio (see docs/architecture.md)"
