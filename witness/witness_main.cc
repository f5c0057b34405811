// temoin-witness: a c2sp.org/tlog-witness for Temoin servers' transparency logs, run by
// another organisation than the server's (docs/admin-guide.md "Running a witness").
//   init --data DIR --name NAME    a new witness key; prints the witness vkey
//   add-log --data DIR --vkey VKEY trust a log key (temoin-server log vkey)
//   vkey --data DIR                print the witness's verifier key
//   run --data DIR --listen HOST:PORT
#include <signal.h>
#include <sys/resource.h>

#include <iostream>

#include "CLI/CLI.hpp"
#include "common/clock.h"
#include "crypto/sodium_init.h"
#include "witness/witness.h"
#include "witness/witness_http.h"

namespace temoin::witness {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "temoin-witness: " << status.message() << "\n";
  return 1;
}

int PrintVkey(const std::string& data) {
  absl::StatusOr<std::string> vkey = WitnessVkey(data);
  if (!vkey.ok()) return Fail(vkey.status());
  std::cout << *vkey << "\n";
  return 0;
}

int Run(const std::string& data, const std::string& listen) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts
  absl::StatusOr<std::unique_ptr<Witness>> witness = Witness::Open(data, &SystemClock::Get());
  if (!witness.ok()) return Fail(witness.status());
  if (absl::Status locked = (*witness)->Lock(); !locked.ok()) return Fail(locked);
  absl::StatusOr<std::unique_ptr<WitnessHttpServer>> server =
      WitnessHttpServer::Start(witness->get(), listen);
  if (!server.ok()) return Fail(server.status());
  std::cerr << "temoin-witness: serving " << (*witness)->vkey() << " on port " << (*server)->port()
            << "\n";
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Stop();  // every answer given was persisted first: nothing to flush
  return 0;
}

}  // namespace
}  // namespace temoin::witness

int main(int argc, char** argv) {
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);  // the witness key must not land in a core file
  if (absl::Status s = temoin::crypto::InitializeCrypto(); !s.ok()) {
    return temoin::witness::Fail(s);
  }
  CLI::App app{
      "temoin-witness: cosigns a Temoin server's checkpoints only while its log stays "
      "append-only (c2sp.org/tlog-witness)"};
  app.require_subcommand(1);
  std::string data, name, vkey, listen;
  CLI::App* init = app.add_subcommand("init", "make a witness directory and key");
  init->add_option("--data", data, "directory to create")->required();
  init->add_option("--name", name,
                   "the witness's name, a schema-less URL you control, e.g. "
                   "witness.example.org/temoin")
      ->required();
  CLI::App* add_log = app.add_subcommand(
      "add-log",
      "trust a log's checkpoint key; a second key of a known log (same origin) is its next "
      "key after temoin-server keys next: both are trusted, and the tree must go on");
  add_log->add_option("--data", data, "witness directory")->required();
  add_log->add_option("--vkey", vkey, "the log's key, as `temoin-server log vkey` prints it")
      ->required();
  CLI::App* show = app.add_subcommand("vkey", "print this witness's verifier key");
  show->add_option("--data", data, "witness directory")->required();
  CLI::App* run = app.add_subcommand("run", "serve add-checkpoint over HTTP");
  run->add_option("--data", data, "witness directory")->required();
  run->add_option("--listen", listen, "HOST:PORT (e.g. 127.0.0.1:7480 behind a TLS proxy)")
      ->required();
  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) {
    if (absl::Status s = temoin::witness::InitWitness(data, name); !s.ok()) {
      return temoin::witness::Fail(s);
    }
    std::cerr << "temoin-witness: initialised " << data
              << ". Give the line below to the log's operator and its devices:\n";
    return temoin::witness::PrintVkey(data);
  }
  if (add_log->parsed()) {
    if (absl::Status s = temoin::witness::AddLog(data, vkey); !s.ok()) {
      return temoin::witness::Fail(s);
    }
    return 0;
  }
  if (show->parsed()) return temoin::witness::PrintVkey(data);
  return temoin::witness::Run(data, listen);
}
