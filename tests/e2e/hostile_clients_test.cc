// Hostile clients against the real temoin-server over TLS on loopback (issue 12), from a
// raw gRPC client that bypasses `temoin` (a generic stub, so any bytes go up): every
// method of every service is called with no credentials, with random bytes, with an
// over-limit message, and, signed in, with every field of its request at its largest.
// None may be answered as if the caller were trusted, none may hit an unhandled error
// (UNKNOWN), and the server must stay up within its memory bound. Enrolment-code
// guessing is refused per code and per source and lands in the audit log. After each
// round a legitimate device's `temoin sync` must still succeed.

#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "temoin/v1/admin.grpc.pb.h"
#include "temoin/v1/enrollment.grpc.pb.h"
#include "temoin/v1/review.grpc.pb.h"
#include "temoin/v1/sync.grpc.pb.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/raw_client.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

namespace pb = google::protobuf;
using std::chrono::seconds;

constexpr const char* kServices[] = {"temoin.v1.Enrollment", "temoin.v1.Admin", "temoin.v1.Sync",
                                     "temoin.v1.Review"};
// Methods a caller without a session may reach at all; the rest must refuse it.
bool OpenWithoutSession(const std::string& service) { return service == "temoin.v1.Enrollment"; }
// The server's bound (--memory-mib defaults to 512 MiB), with gRPC's own slack.
constexpr int64_t kMaxRssKib = 768 << 10;

struct Method {
  std::string path;  // /package.Service/Method
  std::string service;
  const pb::Descriptor* input = nullptr;
};

std::vector<Method> EveryMethod() {
  // Referencing a message of each file links and registers its descriptors.
  for (const pb::Descriptor* linked :
       {v1::EnrollRequest::descriptor(), v1::ListDevicesRequest::descriptor(),
        v1::UploadRequest::descriptor(), v1::ListRecordsRequest::descriptor()}) {
    static_cast<void>(linked);
  }
  std::vector<Method> methods;
  for (const char* name : kServices) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* m = service->method(i);
      methods.push_back({absl::StrCat("/", name, "/", m->name()), name, m->input_type()});
    }
  }
  return methods;
}

// One call of `path` carrying `payload` as the request's bytes, sent as one message
// and a half-close whatever the method's streaming kind (the wire is the same).
grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                  const std::string& payload, const std::string& token) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// Every field set, at its largest, within `budget` bytes in all: strings and bytes of
// 64 KiB, integers at their maximum, 16 elements in each repeated field, nested
// messages two deep.
void FillMaximal(pb::Message& m, int depth, int64_t& budget) {
  const pb::Reflection* r = m.GetReflection();
  const pb::Descriptor* d = m.GetDescriptor();
  // Strings must be valid UTF-8 or proto3 refuses the whole request before any handler
  // sees it (gRPC then answers UNIMPLEMENTED); bytes fields take any byte.
  std::string big_text;
  while (big_text.size() < (64 << 10)) big_text += "\xc3\xa9";  // "é"
  const std::string big_bytes(64 << 10, '\xff');
  for (int i = 0; i < d->field_count() && budget > 0; ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const int n = f->is_repeated() ? 16 : 1;
    for (int k = 0; k < n && budget > 0; ++k) {
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          const std::string& big =
              f->type() == pb::FieldDescriptor::TYPE_STRING ? big_text : big_bytes;
          budget -= static_cast<int64_t>(big.size());
          f->is_repeated() ? r->AddString(&m, f, big) : r->SetString(&m, f, big);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? r->AddUInt64(&m, f, UINT64_MAX) : r->SetUInt64(&m, f, UINT64_MAX);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(&m, f, INT64_MAX) : r->SetInt64(&m, f, INT64_MAX);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated() ? r->AddUInt32(&m, f, UINT32_MAX) : r->SetUInt32(&m, f, UINT32_MAX);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(&m, f, INT32_MAX) : r->SetInt32(&m, f, INT32_MAX);
          break;
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(&m, f, true) : r->SetBool(&m, f, true);
          break;
        case pb::FieldDescriptor::CPPTYPE_ENUM:
          // An enum value no schema knows: proto3 keeps it as an open enum.
          f->is_repeated() ? r->AddEnumValue(&m, f, INT32_MAX) : r->SetEnumValue(&m, f, INT32_MAX);
          break;
        case pb::FieldDescriptor::CPPTYPE_DOUBLE:
          f->is_repeated() ? r->AddDouble(&m, f, 1e308) : r->SetDouble(&m, f, 1e308);
          break;
        case pb::FieldDescriptor::CPPTYPE_FLOAT:
          f->is_repeated() ? r->AddFloat(&m, f, 3e38f) : r->SetFloat(&m, f, 3e38f);
          break;
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 2) {
            pb::Message* child = f->is_repeated() ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
            FillMaximal(*child, depth + 1, budget);
          }
          break;
      }
    }
  }
}

std::string MaximalRequest(const pb::Descriptor* type) {
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> m(factory.GetPrototype(type)->New());
  int64_t budget = 12 << 20;  // under the server's 16 MiB message bound
  FillMaximal(*m, 0, budget);
  return m->SerializeAsString();
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class HostileClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-hostile", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
    absl::StatusOr<RawClient> raw = RawClient::For(*d_);
    ASSERT_TRUE(raw.ok()) << raw.status();
    raw_ = std::make_unique<RawClient>(std::move(*raw));
    methods_ = EveryMethod();
    ASSERT_GE(methods_.size(), 20u) << "the generated services are not linked";
  }

  // A legitimate monitor records three testimonies and syncs them all.
  void ExpectLegitimateSync(const std::string& after) {
    TestimonyGenerator generator(static_cast<uint32_t>(++syncs_));
    std::vector<v1::Testimony> t = {generator.Next(), generator.Next(), generator.Next()};
    ASSERT_TRUE(d_->Record(d_->monitors()[0], t).ok());
    CommandResult sync = d_->Temoin(d_->monitors()[0], {"sync"}, seconds(60));
    EXPECT_EQ(sync.exit_code, 0) << "after " << after << ": " << sync.err;
    absl::StatusOr<nlohmann::json> counts = d_->RecordCounts(d_->monitors()[0]);
    ASSERT_TRUE(counts.ok()) << counts.status();
    EXPECT_EQ((*counts)["sealed"].get<int>() + (*counts)["committed"].get<int>(), 0) << after;
    EXPECT_LT(UsageOf(d_->server_pid()).rss_kib, kMaxRssKib) << after;
  }

  // Calls `m` with `payload` and checks the answer: no unhandled error, and no trust
  // given to a caller without a session.
  void CallAndExpectRefusedProperly(const std::shared_ptr<grpc::Channel>& channel, const Method& m,
                                    const std::string& payload, const std::string& token,
                                    bool signed_in, const std::string& what) {
    const grpc::Status s = Call(channel, m.path, payload, token);
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNKNOWN)
        << m.path << " " << what << ": " << s.error_message();
    // gRPC's callback API (1.51, server_callback_handlers.h) answers a request that does
    // not parse as the method's type with UNIMPLEMENTED and no text, before any handler
    // of ours runs. That answer is accepted for such a payload only: a request that
    // parses must reach the handler and be answered by it.
    if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
        (signed_in || OpenWithoutSession(m.service))) {
      pb::DynamicMessageFactory factory;
      std::unique_ptr<pb::Message> request(factory.GetPrototype(m.input)->New());
      EXPECT_FALSE(request->ParseFromString(payload))
          << m.path << " " << what << ": a request that parses was answered UNIMPLEMENTED";
      ++unparsable_;
    }
    if (!signed_in && !OpenWithoutSession(m.service)) {
      EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                  s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
          << m.path << " " << what << " without a session: " << s.error_code() << " "
          << s.error_message();
    }
    ++codes_[s.error_code()];
  }

  std::unique_ptr<Deployment> d_;
  std::unique_ptr<RawClient> raw_;
  std::vector<Method> methods_;
  std::map<grpc::StatusCode, int> codes_;
  int unparsable_ = 0;  // answered UNIMPLEMENTED by gRPC because the payload does not parse
  int syncs_ = 0;
};

TEST_F(HostileClientsTest, EveryMethodRefusesHostileCallsAndGuessingIsAudited) {
  auto channel = raw_->Channel(1);
  std::mt19937_64 rng(20261204);

  // 1. No credentials: an empty request, and a request of random bytes.
  for (const Method& m : methods_) {
    CallAndExpectRefusedProperly(channel, m, "", "", false, "empty");
    CallAndExpectRefusedProperly(channel, m, RandomBytes(rng, 512), "", false, "random");
    CallAndExpectRefusedProperly(channel, m, "", ToHex(RandomBytes(rng, 24)), false,
                                 "with a forged token");
  }
  ExpectLegitimateSync("calls without credentials");

  // 2. Signed in: random bytes and maximal fields in every method's request, and one
  // message over the server's 16 MiB bound.
  ASSERT_TRUE(raw_->EnrolMonitor(*d_).ok());
  absl::StatusOr<std::string> token = raw_->SignIn();
  ASSERT_TRUE(token.ok()) << token.status();
  for (const Method& m : methods_) {
    if (m.path == "/temoin.v1.Enrollment/Enroll") continue;  // would count as guessing
    CallAndExpectRefusedProperly(channel, m, RandomBytes(rng, 4096), *token, true,
                                 "random, signed in");
    CallAndExpectRefusedProperly(channel, m, MaximalRequest(m.input), *token, true,
                                 "maximal, signed in");
  }
  grpc::Status huge = Call(channel, "/temoin.v1.Sync/Upload", std::string(17 << 20, 'x'), *token);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << huge.error_message();
  ExpectLegitimateSync("random and maximal requests");

  // 3. Enrolment-code guessing: one code is refused after a few tries, then this source.
  auto enroll = v1::Enrollment::NewStub(channel);
  auto try_code = [&](const std::string& token_bytes) {
    v1::EnrollRequest req;
    req.set_token(token_bytes);
    req.set_signing_public_key(RandomBytes(rng, 32));
    req.set_box_public_key(RandomBytes(rng, 32));
    req.set_proof(RandomBytes(rng, 64));
    v1::EnrollResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    return enroll->Enroll(&ctx, req, &resp).error_code();
  };
  const std::string one_code = RandomBytes(rng, 32);
  int tries_of_one_code = 0;
  while (try_code(one_code) != grpc::StatusCode::RESOURCE_EXHAUSTED && tries_of_one_code < 50) {
    ++tries_of_one_code;
  }
  EXPECT_LE(tries_of_one_code, 5) << "one code's refusals before it is blocked";
  int tries_from_source = tries_of_one_code;
  while (try_code(RandomBytes(rng, 32)) != grpc::StatusCode::RESOURCE_EXHAUSTED &&
         tries_from_source < 200) {
    ++tries_from_source;
  }
  EXPECT_LE(tries_from_source, 20) << "refusals from one source before it is blocked";
  absl::StatusOr<std::string> audit = d_->Run(d_->admin(), {"audit"});
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_NE(audit->find("enrollment.guessing"), std::string::npos) << *audit;
  ExpectLegitimateSync("enrolment-code guessing");

  std::string summary;
  for (auto [code, n] : codes_) absl::StrAppend(&summary, " ", code, ":", n);
  std::cerr << "[hostile] " << methods_.size() << " methods; status codes:" << summary << " ("
            << unparsable_ << " UNIMPLEMENTED for payloads that do not parse)\n";
}

}  // namespace
}  // namespace temoin::e2e
