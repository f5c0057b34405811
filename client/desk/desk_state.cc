#include "client/desk/desk_state.h"

#include <sodium.h>

#include "client/core/record_filter.h"
#include "common/status_macros.h"
#include "crypto/secret_buffer.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace temoin::client::desk {
namespace {

using google::protobuf::FieldDescriptor;

void WipeStringInPlace(const std::string& s) {
  // The reflection API hands out const references to the message's own strings; they
  // are about to be freed, and this is the only way to zero them first.
  std::string& owned = const_cast<std::string&>(s);
  if (!owned.empty()) sodium_memzero(owned.data(), owned.size());
}

void WipeOpened(Unlocked& u) {
  for (OpenedRecord& r : u.desk.records) WipeMessage(r.testimony);
  for (std::string& s : u.searchable) crypto::WipeString(s);
  u.desk = OpenedDesk{};
  u.searchable.clear();
}

}  // namespace

void WipeMessage(google::protobuf::Message& message) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (field->is_repeated()) {
        for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
          std::string scratch;
          WipeStringInPlace(reflection->GetRepeatedStringReference(message, field, k, &scratch));
        }
      } else if (reflection->HasField(message, field)) {
        std::string scratch;
        WipeStringInPlace(reflection->GetStringReference(message, field, &scratch));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
          WipeMessage(*reflection->MutableRepeatedMessage(&message, field, k));
        }
      } else if (reflection->HasField(message, field)) {
        WipeMessage(*reflection->MutableMessage(&message, field));
      }
    }
  }
  message.Clear();
}

absl::Status Reopen(Unlocked& u) {
  WipeOpened(u);
  TEMOIN_ASSIGN_OR_RETURN(u.desk, OpenDesk(*u.vault));
  u.searchable.reserve(u.desk.records.size());
  for (const OpenedRecord& r : u.desk.records) u.searchable.push_back(SearchableText(r));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Unlocked>> OpenUnlocked(const std::string& home,
                                                       absl::string_view passphrase) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, Vault::Open(home, passphrase));
  auto opened = std::make_unique<Unlocked>();
  opened->vault = std::move(vault);
  TEMOIN_RETURN_IF_ERROR(Reopen(*opened));
  return opened;
}

absl::Status DeskState::Unlock(absl::string_view passphrase, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  LockHeld();
  TEMOIN_ASSIGN_OR_RETURN(unlocked_, opener_(passphrase));
  last_activity_ = now;
  return absl::OkStatus();
}

void DeskState::Lock() {
  std::lock_guard<std::mutex> lock(mu_);
  LockHeld();
}

void DeskState::LockHeld() {
  if (unlocked_ == nullptr) return;
  WipeOpened(*unlocked_);
  unlocked_.reset();  // the vault's key is a SecretBuffer, wiped by its destructor
}

bool DeskState::LockIfIdle(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unlocked_ != nullptr && now - last_activity_ >= idle_limit_) LockHeld();
  return unlocked_ == nullptr;
}

absl::Status DeskState::WithUnlocked(Clock::time_point now,
                                     const std::function<absl::Status(Unlocked&)>& use) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unlocked_ != nullptr && now - last_activity_ >= idle_limit_) LockHeld();
  if (unlocked_ == nullptr) return absl::FailedPreconditionError("locked");
  last_activity_ = now;
  return use(*unlocked_);
}

bool DeskState::unlocked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unlocked_ != nullptr;
}

Clock::time_point DeskState::lock_due() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unlocked_ == nullptr ? Clock::time_point::max() : last_activity_ + idle_limit_;
}

}  // namespace temoin::client::desk
