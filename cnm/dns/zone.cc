// Placeholder: replaced by the zone (names from the store).
namespace cnm::dns {}
