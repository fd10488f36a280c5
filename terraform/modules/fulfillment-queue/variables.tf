variable "name_prefix" {
  type = string
}

variable "consumer" {
  description = "The fulfillment function: its live alias ARN, its role and its timeout in seconds."
  type = object({
    alias_arn = string
    role_name = string
    timeout   = number
  })
}

variable "producer_role_names" {
  description = "Roles allowed to send to the queue, by a static key (e.g. { orders = <role name> })."
  type        = map(string)
}

variable "batch_size" {
  type    = number
  default = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "An SQS batch is 1 to 10000 messages."
  }
}

variable "maximum_concurrency" {
  description = "Concurrent fulfillment invokes the queue may cause (2 to 1000)."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the oldest message waits longer than this."
  type        = number
  default     = 300
}

variable "alarm_actions" {
  description = "SNS topics told when an alarm fires."
  type        = list(string)
  default     = []
}
