// The report dashboard's charts (web/templates/reports/dashboard.html), drawn with Chart.js from the
// numbers the page already shows in its tables:
//
//   <script type="application/json" id="report-charts-data">{"received": {"type": "doughnut",
//     "title": "…", "labels": ["…"], "values": [4, 2]}, …}</script>
//   <canvas data-chart="received" role="img" aria-label="…"></canvas>
//
// A JSON data block is not executed, so the CSP (scripts from 'self' only) allows it; Chart.js sets
// the canvas size through the CSSOM, which the CSP does not govern. Built into
// static/vendor/reports-charts.js by build.mjs.
import Chart from 'chart.js/auto';

// Colours with 3:1 contrast or more against the white page (WCAG 1.4.11), in the site's blue family.
const COLOURS = {
  received: ['#0b4f9c', '#b35c00'],
  outcome: ['#137333', '#0b4f9c', '#a4161a'],
  satisfaction: ['#a4161a', '#b35c00', '#6b6b6b', '#2f7d4a', '#137333'],
};

function readData() {
  const block = document.getElementById('report-charts-data');
  if (!block) return null;
  try {
    return JSON.parse(block.textContent);
  } catch {
    return null;
  }
}

function draw(canvas, chart, reduceMotion) {
  const colours = COLOURS[canvas.dataset.chart] || ['#0b4f9c'];
  const round = chart.type === 'doughnut';
  return new Chart(canvas, {
    type: chart.type,
    data: {
      labels: chart.labels,
      datasets: [{
        label: chart.title,
        data: chart.values,
        backgroundColor: chart.values.map((_, index) => colours[index % colours.length]),
        borderColor: '#ffffff',
        borderWidth: round ? 2 : 0,
      }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduceMotion ? false : { duration: 400 },
      plugins: { legend: { display: round, position: 'bottom' }, tooltip: { enabled: true } },
      scales: round ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

const data = readData();
if (data) {
  const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const chart = data[canvas.dataset.chart];
    if (chart) draw(canvas, chart, reduceMotion);
  }
}
