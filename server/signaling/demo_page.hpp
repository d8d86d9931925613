// The demo call page served at / by the signaling listener.
#pragma once

#include <string>

namespace tern::signaling {

const std::string& demo_page();

}  // namespace tern::signaling
