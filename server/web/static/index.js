// The home page: go to a room by its name.
document.getElementById("watch").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const room = document.getElementById("room").value.trim();
  if (room) location.href = `/watch/${encodeURIComponent(room)}`;
});
