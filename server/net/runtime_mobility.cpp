// Runtime's RFC 8016 moves: an allocation and its relay sockets go to the worker its client's
// new 5-tuple reaches.
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "runtime_impl.hpp"

namespace tern::net {

namespace {

class WorkerMover final : public core::AllocationMover {
 public:
  WorkerMover(std::vector<std::unique_ptr<Worker>>& workers, unsigned index)
      : workers_(workers), index_(index) {}

  void fetch(std::uint16_t worker, std::uint64_t session, std::string username,
             const core::FiveTuple& flow, std::vector<std::uint8_t> request) override {
    Worker& to = *workers_[index_];
    auto move = std::make_shared<Move>(Move{flow, std::move(request), nullptr, {}, false});
    if (worker >= workers_.size() || worker == index_) {  // not after the core's call
      boost::asio::post(to.io, [&to, move] { arrive(to, move); });
      return;
    }
    Worker& from = *workers_[worker];
    const auto here = static_cast<std::uint16_t>(index_);
    boost::asio::post(from.io, [&from, &to, move, session, here, user = std::move(username)] {
      move->allocation = from.core.move_out(session, user, move->wrong_owner, here);
      if (move->allocation) {
        for (const core::RelayId id : core::relay_ids(*move->allocation)) {
          move->sockets.push_back(from.relays.export_socket(id));
        }
      }
      boost::asio::post(to.io, [&to, move] { arrive(to, move); });
    });
  }

  void release_previous(std::uint16_t worker, const core::FiveTuple& flow) override {
    if (worker >= workers_.size() || worker == index_) return;
    Worker& to = *workers_[worker];
    boost::asio::post(to.io, [&to, flow] { to.core.previous_taken(flow); });
  }

  void forward(std::uint16_t worker, const core::FiveTuple& flow,
               std::vector<std::uint8_t> bytes) override {
    if (worker >= workers_.size() || worker == index_) return;
    Worker& to = *workers_[worker];
    boost::asio::post(to.io, [&to, flow, bytes = std::move(bytes)] {
      to.core.handle_forwarded(flow, bytes, core::Instant::current(), to.router);
      to.router.flush();
    });
  }

 private:
  struct Move {
    core::FiveTuple flow;
    std::vector<std::uint8_t> request;
    core::MovedAllocation allocation;
    std::vector<WorkerRelays::Exported> sockets;
    bool wrong_owner = false;
  };

  // On the worker the client now reaches: take up the sockets and the allocation, then answer.
  static void arrive(Worker& to, const std::shared_ptr<Move>& move) {
    if (move->allocation) {
      std::vector<core::RelayEndpoint> relays;
      bool complete = true;
      for (const auto& s : move->sockets) {
        complete = complete && s.fd >= 0;
        if (s.fd >= 0) relays.push_back(to.relays.import_socket(s));
      }
      if (complete) {
        to.core.move_in(std::move(move->allocation), relays);
      } else {  // cannot be: the allocation's own relays; give back what came
        for (const auto& r : relays) to.relays.close(r.id);
      }
    }
    to.core.handle_moved(move->flow, move->request, core::Instant::current(), to.router,
                         move->wrong_owner);
    to.router.flush();
  }

  std::vector<std::unique_ptr<Worker>>& workers_;
  unsigned index_;
};

}  // namespace

void Runtime::Impl::attach_movers() {
  for (unsigned i = 0; i < workers.size(); ++i) {
    workers[i]->mover = std::make_unique<WorkerMover>(workers, i);
    workers[i]->core.set_mover(workers[i]->mover.get());
  }
}

}  // namespace tern::net
