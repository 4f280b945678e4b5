// azure-emulator: the Azure emulator as a process (the demo and the SDK conformance suite run it).
//   azure-emulator --config cloud.json [--ready-file ready.json] [--ca-file ca.pem]
// Starts AAD, ARM, the admin endpoint and the IMDS endpoints listed under "imds" in the config, writes the
// URLs as JSON to the ready file (and stdout), and serves until SIGINT or SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/emulator/config_json.hpp"
#include "tests/emulator/emulator.hpp"

namespace emu = podid::emulator;

namespace {

int fail(const std::string& message) {
  std::cerr << "azure-emulator: " << message << "\n";
  return 1;
}

// Starts the IMDS endpoints listed under "imds"; answers [{machine_id, url}].
podid::core::Result<boost::json::array> start_imds(const boost::json::value& json, emu::Emulator& emulator) {
  using podid::core::ErrorCode;
  using podid::core::make_error;
  boost::json::array out;
  const auto* list = json.as_object().if_contains("imds");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) return make_error(ErrorCode::invalid, "imds entries must be objects");
    const auto& o = item.as_object();
    const auto* id = o.if_contains("machine_id");
    if (id == nullptr || !id->is_string())
      return make_error(ErrorCode::invalid, "imds entry without machine_id");
    std::optional<int> instance;
    if (const auto* i = o.if_contains("instance"); i != nullptr && i->is_int64()) {
      instance = static_cast<int>(i->as_int64());
    }
    const auto bind = PODID_TRY(emu::bind_from_json(item));
    const auto url = PODID_TRY(emulator.serve_imds(std::string(id->as_string()), instance, bind));
    out.push_back(boost::json::object{{"machine_id", *id}, {"url", url}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Azure emulator: AAD, ARM and IMDS on loopback"};
  std::string config_path;
  std::string ready_file;
  std::string ca_file;
  app.add_option("--config", config_path, "JSON configuration file")->required();
  app.add_option("--ready-file", ready_file, "where to write the endpoints (JSON) once serving");
  app.add_option("--ca-file", ca_file, "where to write the CA certificate (overrides the config)");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(config_path);
  if (!in) return fail("cannot read " + config_path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value json = boost::json::parse(text.str(), ec);
  if (ec) return fail("bad JSON in " + config_path + ": " + ec.message());
  auto config = emu::config_from_json(json);
  if (!config) return fail(config.error().describe());
  if (!ca_file.empty()) config->ca_file = ca_file;
  if (!config->admin) config->admin = emu::Bind{};

  // Block the stop signals before any thread starts, so that only sigwait() receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  emu::Emulator emulator(*config);
  if (auto started = emulator.start(); !started) return fail(started.error().describe());
  auto imds = start_imds(json, emulator);
  if (!imds) return fail(imds.error().describe());
  const boost::json::object ready{{"authority_host", emulator.authority_host()},
                                  {"arm_endpoint", emulator.arm_endpoint()},
                                  {"admin_url", emulator.admin_url()},
                                  {"ca_file", emulator.ca_file()},
                                  {"imds", *imds}};
  const std::string ready_text = boost::json::serialize(ready);
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << ready_text << "\n";
    if (std::rename(tmp.c_str(), ready_file.c_str()) != 0) return fail("cannot write " + ready_file);
  }
  std::cout << ready_text << std::endl;
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  emulator.stop();
  return 0;
}
