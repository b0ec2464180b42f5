// The trainer's record of a run: a CSV file with one line per step, and the loss curves drawn
// from it as an SVG picture.
//
//   step,learning_rate,train_loss,validation_loss,gradient_norm,seconds,tokens_per_second
//   1,6e-06,8.7231,,1.94,0.81,20225
//   ...
//   100,6e-04,5.1022,5.2411,0.83,78.2,21013        (validation every N steps; empty otherwise)
//
// The CSV is flushed line by line, so an interrupted run keeps everything up to its last step, and
// --resume continues the same file. The picture shows the training loss (each step, and a moving
// average), and the validation loss as points: the gap between the two is what overfitting looks
// like.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace llama4 {

struct TrainingLogRow {
  std::int64_t step = 0;  // 1-based: the number of optimizer steps done
  double learning_rate = 0, train_loss = 0;
  std::optional<double> validation_loss;
  double gradient_norm = 0, seconds = 0, tokens_per_second = 0;
};

class TrainingLog {
 public:
  // Starts `csv` afresh; or, continuing a run, first copies the rows of `earlier` (the resumed
  // checkpoint's log, which may be `csv` itself) up to step `keep_steps`, then appends. An empty
  // `csv` keeps the rows in memory only (the ranks of a data-parallel run other than rank 0).
  TrainingLog(const std::filesystem::path& csv, const std::optional<std::filesystem::path>& earlier,
              std::int64_t keep_steps);

  // Appends one line to the file (opened for each line: the file may be replaced between two
  // lines, when the checkpoint directory it lives in is saved anew).
  void add(const TrainingLogRow& row);
  const std::vector<TrainingLogRow>& rows() const { return rows_; }
  // The whole file's text (for a checkpoint being written).
  std::string csv() const;

 private:
  std::filesystem::path path_;
  std::vector<TrainingLogRow> rows_;
};

// The loss curves of `rows` as a self-contained SVG document.
std::string loss_plot_svg(const std::vector<TrainingLogRow>& rows, const std::string& title);

}  // namespace llama4
