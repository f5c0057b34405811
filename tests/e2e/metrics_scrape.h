#ifndef TEMOIN_TESTS_E2E_METRICS_SCRAPE_H_
#define TEMOIN_TESTS_E2E_METRICS_SCRAPE_H_

#include <cstdint>
#include <string>

// Reading a real temoin-server's Prometheus endpoint from an end-to-end test.
namespace temoin::e2e {

// GET /metrics on 127.0.0.1:port: the body, or "" when nothing answered.
std::string Scrape(int port);

// The value of the sample line that starts with `series` (name and labels), or -1.
int64_t Sample(const std::string& body, const std::string& series);

}  // namespace temoin::e2e

#endif  // TEMOIN_TESTS_E2E_METRICS_SCRAPE_H_
