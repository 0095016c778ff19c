// The registration form: choosing an application type fills the grant
// types, response types and auth method with values that go together
// (they stay adjustable). Without this script the form still works: its
// first state is a web application's.
(function () {
  "use strict";
  var form = document.getElementById("create-client-form");
  if (!form) {
    return;
  }
  function words(value) {
    return (value || "").split(" ").filter(function (w) { return w !== ""; });
  }
  function check(name, values) {
    form.querySelectorAll("input[name=" + name + "]").forEach(function (box) {
      box.checked = values.indexOf(box.value) >= 0;
    });
  }
  function apply(radio) {
    check("grant_type", words(radio.getAttribute("data-grant-types")));
    check("response_type", words(radio.getAttribute("data-response-types")));
    var method = document.getElementById("token_endpoint_auth_method");
    if (method) {
      method.value = radio.getAttribute("data-auth-method");
    }
  }
  form.querySelectorAll("input[name=application_type]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) {
        apply(radio);
      }
    });
  });
})();
