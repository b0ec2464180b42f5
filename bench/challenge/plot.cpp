#include "bench/challenge/plot.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

namespace llama4::challenge {
namespace {

constexpr double kPanelWidth = 360, kPanelHeight = 240, kMargin = 56;

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

// Text from outside (a workload's name) inside the SVG: <, > and & would break the file.
std::string escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

struct Series {
  std::string label;
  std::string colour;
  std::vector<double> values;  // one per run
};

// One panel at x offset `left`: the runs' batch sizes evenly along x, each series a polyline
// with dots, y from 0 to the largest value.
std::string panel(double left, const std::string& title, const std::string& unit,
                  const std::vector<std::int64_t>& batches, const std::vector<Series>& series) {
  double top = 0;
  for (const Series& s : series) {
    for (const double v : s.values) top = std::max(top, v);
  }
  if (top <= 0) top = 1;
  top *= 1.1;
  const double x0 = left + kMargin, y0 = kMargin / 2 + kPanelHeight;  // the origin
  const auto x = [&](std::size_t i) {
    return batches.size() == 1 ? x0 + kPanelWidth / 2
                               : x0 + kPanelWidth * static_cast<double>(i) /
                                          static_cast<double>(batches.size() - 1);
  };
  const auto y = [&](double v) { return y0 - kPanelHeight * v / top; };
  std::string svg = "<g font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<text x=\"" + number(x0 + kPanelWidth / 2) + "\" y=\"16\" text-anchor=\"middle\">" +
         title + "</text>\n";
  svg += "<line x1=\"" + number(x0) + "\" y1=\"" + number(y0) + "\" x2=\"" +
         number(x0 + kPanelWidth) + "\" y2=\"" + number(y0) + "\" stroke=\"black\"/>\n";
  svg += "<line x1=\"" + number(x0) + "\" y1=\"" + number(y0) + "\" x2=\"" + number(x0) +
         "\" y2=\"" + number(y0 - kPanelHeight) + "\" stroke=\"black\"/>\n";
  for (int tick = 0; tick <= 4; ++tick) {
    const double v = top * tick / 4;
    svg += "<text x=\"" + number(x0 - 4) + "\" y=\"" + number(y(v) + 4) +
           "\" text-anchor=\"end\">" + number(v) + "</text>\n";
  }
  svg += "<text x=\"" + number(left + 12) + "\" y=\"" + number(y0 - kPanelHeight / 2) +
         "\" transform=\"rotate(-90 " + number(left + 12) + " " + number(y0 - kPanelHeight / 2) +
         ")\" text-anchor=\"middle\">" + unit + "</text>\n";
  for (std::size_t i = 0; i < batches.size(); ++i) {
    svg += "<text x=\"" + number(x(i)) + "\" y=\"" + number(y0 + 16) +
           "\" text-anchor=\"middle\">" + std::to_string(batches[i]) + "</text>\n";
  }
  svg += "<text x=\"" + number(x0 + kPanelWidth / 2) + "\" y=\"" + number(y0 + 34) +
         "\" text-anchor=\"middle\">batch size</text>\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Series& line = series[s];
    std::string points;
    for (std::size_t i = 0; i < line.values.size(); ++i)
      points += number(x(i)) + "," + number(y(line.values[i])) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + line.colour + "\" stroke-width=\"2\" points=\"" +
           points + "\"/>\n";
    for (std::size_t i = 0; i < line.values.size(); ++i) {
      svg += "<circle cx=\"" + number(x(i)) + "\" cy=\"" + number(y(line.values[i])) +
             "\" r=\"3\" fill=\"" + line.colour + "\"/>\n";
    }
    if (series.size() > 1) {
      svg += "<text x=\"" + number(x0 + 8) + "\" y=\"" + number(kMargin / 2 + 14 + 14 * s) +
             "\" fill=\"" + line.colour + "\">" + line.label + "</text>\n";
    }
  }
  return svg + "</g>\n";
}

}  // namespace

std::string plot_svg(const ChallengeResult& result) {
  std::vector<std::int64_t> batches;
  Series throughput{"tok/s", "#1f77b4", {}};
  Series p50{"TPOT p50", "#2ca02c", {}}, p90{"TPOT p90", "#ff7f0e", {}},
      p99{"TPOT p99", "#d62728", {}};
  for (const RunMeasurement& run : result.runs) {
    batches.push_back(run.batch);
    throughput.values.push_back(run.throughput);
    p50.values.push_back(1e3 * run.tpot_seconds.p50);
    p90.values.push_back(1e3 * run.tpot_seconds.p90);
    p99.values.push_back(1e3 * run.tpot_seconds.p99);
  }
  const double width = 2 * (kPanelWidth + kMargin + 24), height = kPanelHeight + 2 * kMargin;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(width) +
                    "\" height=\"" + number(height) + "\" viewBox=\"0 0 " + number(width) + " " +
                    number(height) + "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<title>" + escaped(result.engine + " on workload " + result.workload) + "</title>\n";
  svg +=
      panel(0, "throughput, " + escaped(result.engine), "generated tok/s", batches, {throughput});
  svg += panel(width / 2, "time per output token", "ms", batches, {p50, p90, p99});
  return svg + "</svg>\n";
}

}  // namespace llama4::challenge
