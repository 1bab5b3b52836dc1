// Sort the failed-cases table (a row a case, a column a cell) by a clicked heading;
// filter it by text and by a cell the case failed in.
(function () {
  var table = document.getElementById("failed"), body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows), text = document.getElementById("filter");
  var cell = document.getElementById("cell"), shown = document.getElementById("shown");
  function filter() {
    var want = text.value.toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = (!cell.value || r.dataset.failing.indexOf(" " + cell.value + " ") >= 0) &&
        r.textContent.toLowerCase().indexOf(want) >= 0;
      r.style.display = ok ? "" : "none"; n += ok ? 1 : 0;
    });
    shown.textContent = n + " of " + rows.length + " shown";
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.addEventListener("click", function () {
      var down = th.dataset.dir !== "asc"; th.dataset.dir = down ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[i].textContent, y = b.cells[i].textContent;
        var c = (isNaN(x) || isNaN(y)) ? x.localeCompare(y) : x - y;
        return down ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  text.addEventListener("input", filter); cell.addEventListener("change", filter); filter();
})();
