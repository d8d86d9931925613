// Boost.JSON, compiled once into the tern binary (header-only mode).
#include <boost/json/src.hpp>
