# A deploy script run by a local-exec provisioner, after a step that waits for the test's go-ahead
# (so the test can swap the script while terraform applies).
resource "terraform_data" "wait" {
  provisioner "local-exec" {
    command = "touch started; until [ -e go ]; do sleep 0.05; done"
  }
}

resource "terraform_data" "deploy" {
  depends_on = [terraform_data.wait]
  provisioner "local-exec" {
    command = "bash ./deploy.sh"
  }
}
