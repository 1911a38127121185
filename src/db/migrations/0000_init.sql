CREATE TABLE `job_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`time` integer NOT NULL,
	`level` text NOT NULL,
	`step` text,
	`message` text NOT NULL,
	`bytes_done` integer,
	`bytes_total` integer,
	`delivery_id` text,
	`source` text NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `job_events_job` ON `job_events` (`job_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `job_events_delivery` ON `job_events` (`job_id`,`delivery_id`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`serial` text NOT NULL,
	`recipe_name` text,
	`recipe` text NOT NULL,
	`status` text NOT NULL,
	`step` text,
	`bytes_done` integer,
	`bytes_total` integer,
	`failed_step` text,
	`reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`media_removed_at` integer,
	FOREIGN KEY (`serial`) REFERENCES `machines`(`serial`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_one_active_per_machine` ON `jobs` (`serial`) WHERE status in ('queued', 'provisioning');--> statement-breakpoint
CREATE INDEX `jobs_status_id` ON `jobs` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_serial_id` ON `jobs` (`serial`,`id`);--> statement-breakpoint
CREATE TABLE `machine_macs` (
	`mac` text PRIMARY KEY NOT NULL,
	`serial` text NOT NULL,
	FOREIGN KEY (`serial`) REFERENCES `machines`(`serial`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `machine_macs_serial` ON `machine_macs` (`serial`);--> statement-breakpoint
CREATE TABLE `machines` (
	`serial` text PRIMARY KEY NOT NULL,
	`labels` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `recipes` (
	`name` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`recipe` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
