/// The page served at `/`: one chart per sensor of its minute means (with min–max band), drawn
/// as SVG by a few lines of JavaScript from `/sensors/{id}/minutes`, refreshed every 5 seconds.
/// It needs no library and no network beyond the pipeline's own API.
enum DashboardPage {
    static let html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>StreamKit IoT — minute means</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; color: #222; }
          h1 { font-size: 1.3rem; } .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1rem; }
          .card { background: white; border: 1px solid #ddd; border-radius: 6px; padding: .7rem; }
          .card h2 { font-size: 1rem; margin: 0 0 .3rem; } .meta { color: #666; font-size: .8rem; }
          svg { width: 100%; height: 160px; } .band { fill: #cfe3ff; } .line { fill: none; stroke: #1f6fd1; stroke-width: 2; }
          .axis { stroke: #bbb; } text { font-size: 10px; fill: #666; }
        </style></head>
        <body><h1>Minute means per sensor</h1><p class="meta" id="status">loading…</p><div class="grid" id="charts"></div>
        <script>
        async function load() {
          const sensors = await (await fetch('/sensors')).json();
          const grid = document.getElementById('charts');
          let failed = 0;
          for (const sensor of sensors) {
            let rows;
            try {
              const response = await fetch('/sensors/' + encodeURIComponent(sensor.id) + '/minutes');
              if (!response.ok) throw new Error('HTTP ' + response.status);
              rows = await response.json();
            } catch (error) {
              // One sensor's failed answer must not stop the others from being drawn.
              failed += 1;
              continue;
            }
            let card = document.getElementById('card-' + sensor.id);
            if (!card) {
              card = document.createElement('div'); card.className = 'card'; card.id = 'card-' + sensor.id;
              grid.appendChild(card);
            }
            card.innerHTML = '<h2>' + sensor.id + ' — ' + sensor.info.description + '</h2>'
              + '<div class="meta">' + sensor.info.type + ' in ' + sensor.info.unit + ', ' + rows.length + ' minutes</div>'
              + chart(rows.slice(-60));
          }
          document.getElementById('status').textContent = 'updated ' + new Date().toISOString()
            + (failed > 0 ? ' (' + failed + ' sensors could not be read)' : '');
        }
        function chart(rows) {
          if (rows.length === 0) return '<svg viewBox="0 0 360 160"><text x="10" y="80">no minute yet</text></svg>';
          const lo = Math.min(...rows.map(r => r.min)), hi = Math.max(...rows.map(r => r.max));
          const x = i => 30 + (rows.length === 1 ? 160 : i * 320 / (rows.length - 1));
          const y = v => 145 - (hi === lo ? 65 : (v - lo) * 130 / (hi - lo));
          const band = rows.map((r, i) => x(i) + ',' + y(r.max)).concat(rows.map((r, i) => x(i) + ',' + y(r.min)).reverse());
          const line = rows.map((r, i) => x(i) + ',' + y(r.mean)).join(' ');
          return '<svg viewBox="0 0 360 160"><line class="axis" x1="30" y1="145" x2="350" y2="145"/>'
            + '<polygon class="band" points="' + band.join(' ') + '"/><polyline class="line" points="' + line + '"/>'
            + '<text x="2" y="' + y(hi) + '">' + hi + '</text><text x="2" y="' + y(lo) + '">' + lo + '</text>'
            + '<text x="30" y="158">' + rows[0].minute.slice(11, 16) + '</text>'
            + '<text x="320" y="158">' + rows[rows.length - 1].minute.slice(11, 16) + '</text></svg>';
        }
        load(); setInterval(load, 5000);
        </script></body></html>
        """
}
