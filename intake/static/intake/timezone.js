/* The phone's time zone for the report form's date and time (the hidden time_zone
   field): its IANA name, or its current UTC offset when the browser has no name. Kept
   apart from testigo.js so the upload client and this stay independent. */
(function () {
  "use strict";
  var field = document.querySelector('input[name="time_zone"]');
  if (!field) return;
  var name = "";
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    name = "";
  }
  if (!name) {
    var minutes = -new Date().getTimezoneOffset();
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    name = "UTC" + sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }
  field.value = name;
})();
