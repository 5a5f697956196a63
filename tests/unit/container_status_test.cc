// cnm::ContainerStatus and its text: the names the container record stores and ps/inspect show,
// and what a record with any other "Status" reads as.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cnm/model/model.h"

namespace {

using cnm::ContainerStatus;

const ContainerStatus kEveryContainerStatus[] = {
    ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kExited};

TEST_CASE("container status names are the stored text and parse back") {
  CHECK(cnm::container_status_name(ContainerStatus::kCreated) == "created");
  CHECK(cnm::container_status_name(ContainerStatus::kRunning) == "running");
  CHECK(cnm::container_status_name(ContainerStatus::kExited) == "exited");
  for (auto s : kEveryContainerStatus)
    CHECK(cnm::parse_container_status(cnm::container_status_name(s)) == s);
}

TEST_CASE("container status parse refuses any other text") {
  for (const char* bad : {"", "Running", "EXITED", "exited ", " created", "paused", "Up", "run"})
    CHECK_FALSE(cnm::parse_container_status(bad).has_value());
}

TEST_CASE("container record stores the status as its text, byte for byte") {
  cnm::Container c;
  c.id = std::string(64, 'a');
  c.name = "web";
  CHECK(nlohmann::json(c)["Status"] == "created");
  c.status = ContainerStatus::kRunning;
  auto text = nlohmann::json(c).dump();
  CHECK(text.find(R"("Status":"running")") != std::string::npos);
  c.status = ContainerStatus::kExited;
  text = nlohmann::json(c).dump();
  CHECK(text.find(R"("Status":"exited")") != std::string::npos);
  // Read back and written again: the same bytes.
  auto back = nlohmann::json::parse(text).get<cnm::Container>();
  CHECK(back.status == ContainerStatus::kExited);
  CHECK(nlohmann::json(back).dump() == text);
}

TEST_CASE("container record with an unknown or missing status reads as created") {
  auto j = nlohmann::json{{"Id", std::string(64, 'b')}, {"Name", "db"}};
  CHECK(j.get<cnm::Container>().status == ContainerStatus::kCreated);
  for (const char* bad : {"paused", "Running", ""}) {
    j["Status"] = bad;
    CHECK(j.get<cnm::Container>().status == ContainerStatus::kCreated);
  }
  j["Status"] = "running";
  CHECK(j.get<cnm::Container>().status == ContainerStatus::kRunning);
  // A status that is not text at all is a corrupt record, as any mistyped field is.
  j["Status"] = 1;
  CHECK_THROWS(j.get<cnm::Container>());
}

}  // namespace
