resource "terraform_data" "app" {
  input = "v1"
}

resource "terraform_data" "db" {
  triggers_replace = ["db-v1"]
}
