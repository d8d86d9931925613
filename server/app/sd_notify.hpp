// The systemd notification protocol (sd_notify(3)): state changes sent to $NOTIFY_SOCKET.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tern::app {

// Sends `state` ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", ...) to the socket named by
// $NOTIFY_SOCKET; does nothing when tern was not started by systemd with Type=notify.
// Returns whether a message was sent.
bool sd_notify(const std::string& state);

// "RELOADING=1" with the MONOTONIC_USEC that systemd 253+ wants next to it.
std::string reloading_state();

// The watchdog interval from $WATCHDOG_USEC (when $WATCHDOG_PID is unset or ours).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace tern::app
