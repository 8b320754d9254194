// The label set of a mention-typing classifier: class names by index, from a
// checkpoint's config.json (id2label) or a labels.txt file (one per line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/io/json.hpp"

namespace kplug::tasks {

// Label names by class index, from a checkpoint's config.json id2label.
inline std::vector<std::string> read_model_labels(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  const nlohmann::json doc = io::read_json_file(path, "read the model's labels");
  const auto it = doc.find("id2label");
  if (it == doc.end() || !it->is_object() || it->empty())
    throw error("read the model's labels", at_file(path),
                "has no id2label: the model is not a trained classifier (train one with kplug train-head)");
  std::vector<std::string> labels(it->size());
  for (const auto& [key, value] : it->items()) {
    std::size_t used = 0;
    long index = -1;
    try {
      index = std::stol(key, &used);
    } catch (const std::exception&) {
    }
    if (used != key.size() || index < 0 || static_cast<std::size_t>(index) >= labels.size() || !value.is_string())
      throw error("read the model's labels", at_file(path),
                  "id2label key \"" + key + "\" is not a class index in [0, " + std::to_string(labels.size()) +
                      ") with a string name");
    labels[static_cast<std::size_t>(index)] = value.get<std::string>();
  }
  return labels;
}

// labels.txt: one label per line, in class order.
inline std::vector<std::string> read_label_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw error("read labels", at_file(path), "cannot open");
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  if (labels.empty()) throw error("read labels", at_file(path), "holds no label");
  return labels;
}

// The class index of `name`, or -1 when the set lacks it.
inline std::int32_t label_index(const std::vector<std::string>& labels, const std::string& name) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == name) return static_cast<std::int32_t>(i);
  return -1;
}

}  // namespace kplug::tasks
