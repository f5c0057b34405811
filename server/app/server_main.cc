// temoin-server: init | run. See DESIGN.md "Command line" and docs/architecture.md.
#include <signal.h>

#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "common/status_macros.h"
#include "crypto/sodium_init.h"
#include "server/app/data_dir.h"
#include "server/app/grpc_server.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "temoin-server: " << status.message() << "\n";
  return 1;
}

int RunInit(const std::string& data, const std::string& org, const std::string& listen) {
  absl::StatusOr<std::string> code =
      InitializeDataDir(data, org, listen.empty() ? kDefaultListen : listen);
  if (!code.ok()) return Fail(code.status());
  std::cout << *code << "\n";
  std::cerr << "temoin-server: initialised " << data
            << ". The line above is the first admin's enrolment code (single use, 24 h):\n"
            << "  temoin --home ADMIN_HOME enroll CODE\n";
  return 0;
}

int RunServe(const std::string& data, const std::string& listen_override) {
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<ServerData> server_data = LoadDataDir(data);
  if (!server_data.ok()) return Fail(server_data.status());
  absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(server_data->db_path());
  if (!store.ok()) return Fail(store.status());
  std::string listen = listen_override.empty() ? server_data->listen : listen_override;
  Core core(store->get(), &SystemClock::Get(), std::move(server_data->receipt_key),
            server_data->vocabulary);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(&core, server_data->tls, listen);
  crypto::WipeString(server_data->tls.private_key_pem);
  if (!server.ok()) return Fail(server.status());
  std::cerr << "temoin-server: serving " << server_data->org_name << " on port "
            << (*server)->port() << " (TLS); stop with Ctrl-C\n";

  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::cerr << "temoin-server: stopping\n";
    (*server)->Shutdown();
  });
  (*server)->Wait();
  stopper.join();
  return 0;
}

}  // namespace
}  // namespace temoin::server

int main(int argc, char** argv) {
  if (absl::Status s = temoin::crypto::InitializeCrypto(); !s.ok()) {
    return temoin::server::Fail(s);
  }
  CLI::App app{
      "temoin-server: keeps sealed testimonies it cannot read, proves what it received, "
      "and enforces who may fetch what."};
  app.require_subcommand(1);
  std::string data, org, listen;

  CLI::App* init = app.add_subcommand("init",
                                      "create a data directory: keys, TLS certificate, "
                                      "store; prints the first admin's enrolment code");
  init->add_option("--data", data, "data directory to create")->required();
  init->add_option("--org", org, "organisation name")->required();
  init->add_option("--listen", listen,
                   "HOST:PORT to serve on (default 127.0.0.1:7443); also "
                   "the address written into enrolment codes");

  CLI::App* run = app.add_subcommand("run", "serve devices over gRPC/TLS");
  run->add_option("--data", data, "data directory made by init")->required();
  run->add_option("--listen", listen, "HOST:PORT (default: the address given at init)");

  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) return temoin::server::RunInit(data, org, listen);
  return temoin::server::RunServe(data, listen);
}
