#include "common/training/training_log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4 {
namespace {

constexpr const char* kHeader =
    "step,learning_rate,train_loss,validation_loss,gradient_norm,seconds,tokens_per_second";

std::string format_row(const TrainingLogRow& r) {
  char line[256];
  std::snprintf(line, sizeof line, "%lld,%.6g,%.6f,", static_cast<long long>(r.step),
                r.learning_rate, r.train_loss);
  std::string text = line;
  if (r.validation_loss) {
    std::snprintf(line, sizeof line, "%.6f", *r.validation_loss);
    text += line;
  }
  std::snprintf(line, sizeof line, ",%.4g,%.3f,%.0f", r.gradient_norm, r.seconds,
                r.tokens_per_second);
  return text + line;
}

// One CSV line back into a row; nullopt for a line that is not one.
std::optional<TrainingLogRow> parse_row(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  for (std::string field; std::getline(stream, field, ',');) fields.push_back(field);
  if (line.ends_with(',')) fields.emplace_back();
  if (fields.size() != 7) return std::nullopt;
  try {
    TrainingLogRow r;
    r.step = std::stoll(fields[0]);
    r.learning_rate = std::stod(fields[1]);
    r.train_loss = std::stod(fields[2]);
    if (!fields[3].empty()) r.validation_loss = std::stod(fields[3]);
    r.gradient_norm = std::stod(fields[4]);
    r.seconds = std::stod(fields[5]);
    r.tokens_per_second = std::stod(fields[6]);
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

TrainingLog::TrainingLog(const std::filesystem::path& csv,
                         const std::optional<std::filesystem::path>& earlier,
                         std::int64_t keep_steps)
    : path_(csv) {
  if (earlier) {
    std::ifstream in(*earlier);
    std::string line;
    for (std::getline(in, line); std::getline(in, line);) {  // the first line is the header
      const std::optional<TrainingLogRow> row = parse_row(line);
      if (row && row->step <= keep_steps) rows_.push_back(*row);
    }
  }
  if (!csv.empty()) write_file_atomically(csv, this->csv());
}

std::string TrainingLog::csv() const {
  std::string text = std::string(kHeader) + "\n";
  for (const TrainingLogRow& row : rows_) text += format_row(row) + "\n";
  return text;
}

void TrainingLog::add(const TrainingLogRow& row) {
  rows_.push_back(row);
  if (path_.empty()) return;
  std::ofstream out(path_, std::ios::app);
  out << format_row(row) << '\n';
  if (!out.flush()) fail("cannot write the training log ", path_);
}

std::string loss_plot_svg(const std::vector<TrainingLogRow>& rows, const std::string& title) {
  constexpr double width = 720, height = 420, left = 64, right = 20, top = 40, bottom = 50;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double max_step = 1, low = 1e30, high = -1e30;
  for (const TrainingLogRow& r : rows) {
    max_step = std::max(max_step, static_cast<double>(r.step));
    for (const double loss : {r.train_loss, r.validation_loss.value_or(r.train_loss)}) {
      low = std::min(low, loss);
      high = std::max(high, loss);
    }
  }
  if (rows.empty()) low = 0, high = 1;
  low = std::floor(low * 2) / 2;  // round the axis to halves
  high = std::ceil(high * 2) / 2;
  if (high <= low) high = low + 1;
  const auto x = [&](double step) { return left + plot_w * step / max_step; };
  const auto y = [&](double loss) { return top + plot_h * (high - loss) / (high - low); };

  std::ostringstream svg;
  svg.setf(std::ios::fixed);
  svg.precision(1);
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
      << title << "</text>\n";
  // Axes, with a grid line and label every half (or whole) nat.
  const double tick = (high - low) > 6 ? 1.0 : 0.5;
  for (double v = low; v <= high + 1e-9; v += tick) {
    svg << "<line x1=\"" << left << "\" x2=\"" << width - right << "\" y1=\"" << y(v) << "\" y2=\""
        << y(v) << "\" stroke=\"#e4e4e4\"/>\n<text x=\"" << left - 6 << "\" y=\"" << y(v) + 4
        << "\" text-anchor=\"end\">" << v << "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    const double step = std::round(max_step * i / 5);
    svg << "<text x=\"" << x(step) << "\" y=\"" << height - bottom + 18
        << "\" text-anchor=\"middle\">" << static_cast<long long>(step) << "</text>\n";
  }
  svg << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 12
      << "\" text-anchor=\"middle\">step</text>\n<text transform=\"translate(16,"
      << top + plot_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">cross-entropy (nats per token)</text>\n"
      << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
      << plot_h << "\" fill=\"none\" stroke=\"#444\"/>\n";

  // Training loss: every step (faint), then a moving average of 1/50 of the run (solid).
  const auto polyline = [&](const std::vector<std::pair<double, double>>& points,
                            const char* style) {
    if (points.empty()) return;
    svg << "<polyline fill=\"none\" " << style << " points=\"";
    for (const auto& [s, l] : points) svg << x(s) << "," << y(l) << " ";
    svg << "\"/>\n";
  };
  std::vector<std::pair<double, double>> raw, smooth, validation;
  const std::size_t window = std::max<std::size_t>(1, rows.size() / 50);
  double sum = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    raw.emplace_back(static_cast<double>(rows[i].step), rows[i].train_loss);
    sum += rows[i].train_loss;
    if (i >= window) sum -= rows[i - window].train_loss;
    if (i + 1 >= window) smooth.emplace_back(static_cast<double>(rows[i].step), sum / window);
    if (rows[i].validation_loss) {
      validation.emplace_back(static_cast<double>(rows[i].step), *rows[i].validation_loss);
    }
  }
  polyline(raw, "stroke=\"#9ecae1\" stroke-width=\"0.7\"");
  polyline(smooth, "stroke=\"#08519c\" stroke-width=\"2\"");
  polyline(validation, "stroke=\"#e6550d\" stroke-width=\"1.5\"");
  for (const auto& [s, l] : validation) {
    svg << "<circle cx=\"" << x(s) << "\" cy=\"" << y(l) << "\" r=\"3\" fill=\"#e6550d\"/>\n";
  }
  // Legend.
  svg << "<g transform=\"translate(" << width - right - 190 << "," << top + 16 << ")\">"
      << "<line x1=\"0\" x2=\"20\" y1=\"0\" y2=\"0\" stroke=\"#08519c\" stroke-width=\"2\"/>"
      << "<text x=\"26\" y=\"4\">training (moving average)</text>"
      << "<line x1=\"0\" x2=\"20\" y1=\"18\" y2=\"18\" stroke=\"#e6550d\" stroke-width=\"1.5\"/>"
      << "<text x=\"26\" y=\"22\">validation</text></g>\n</svg>\n";
  return svg.str();
}

}  // namespace llama4
