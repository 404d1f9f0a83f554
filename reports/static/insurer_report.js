
(function () {
  var table = document.getElementById('providers');
  var body = table.tBodies[0];
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function key(row, col) {
    var cell = row.cells[col];
    return cell.hasAttribute('data-v') ? parseFloat(cell.getAttribute('data-v')) : cell.textContent;
  }
  function count() {
    var visible = 0;
    for (var i = 0; i < body.rows.length; i++) { if (!body.rows[i].hidden) { visible++; } }
    shown.textContent = visible + ' van ' + body.rows.length + ' aanbieders';
  }
  table.querySelectorAll('thead th').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var col = parseInt(th.getAttribute('data-col'), 10);
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('thead th').forEach(function (other) { other.setAttribute('aria-sort', 'none'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, col), y = key(b, col);
        var order = (typeof x === 'number') ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  filter.addEventListener('input', function () {
    var needle = filter.value.trim();
    for (var i = 0; i < body.rows.length; i++) {
      var text = (body.rows[i].cells[0].textContent + ' ' + body.rows[i].cells[1].textContent).toLowerCase();
      body.rows[i].hidden = needle !== '' && text.indexOf(needle.toLowerCase()) === -1;
    }
    count();
  });
  count();
})();
