# A for_each key holding terminal escapes: "erase the line, go to its start" and a fake summary.
resource "terraform_data" "a" {
  for_each = toset(["ok\u001b[2K\u001b[1G  harmless: 0 to destroy"])
  input    = each.key
}
