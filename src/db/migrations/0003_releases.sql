CREATE TABLE `release_downloads` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`time` integer NOT NULL,
	`version` text NOT NULL,
	`artifact` text NOT NULL,
	`client_ip` text NOT NULL,
	`user_agent` text NOT NULL,
	`size` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`status` integer NOT NULL,
	`range` text
);
--> statement-breakpoint
CREATE INDEX `release_downloads_time` ON `release_downloads` (`time`);--> statement-breakpoint
CREATE INDEX `release_downloads_version` ON `release_downloads` (`version`);--> statement-breakpoint
CREATE TABLE `release_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`time` integer NOT NULL,
	`type` text NOT NULL,
	`severity` text NOT NULL,
	`version` text NOT NULL,
	`details` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `release_events_time` ON `release_events` (`time`);--> statement-breakpoint
CREATE INDEX `release_events_version` ON `release_events` (`version`);--> statement-breakpoint
CREATE TABLE `release_progress` (
	`tag` text PRIMARY KEY NOT NULL,
	`phase` text NOT NULL,
	`total_blobs` integer NOT NULL,
	`synced_blobs` integer NOT NULL,
	`total_bytes` integer NOT NULL,
	`synced_bytes` integer NOT NULL,
	`total_components` integer NOT NULL,
	`mirrored_components` integer NOT NULL,
	`current_component` text NOT NULL,
	FOREIGN KEY (`tag`) REFERENCES `releases`(`tag`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `releases` (
	`tag` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`architecture` text NOT NULL,
	`state` text NOT NULL,
	`upstream_digest` text,
	`discovered_at` integer NOT NULL,
	`cloned_at` integer,
	`verified_at` integer,
	`size` integer,
	`error` text,
	`artifacts` text NOT NULL,
	`verify` text
);
--> statement-breakpoint
CREATE INDEX `releases_state` ON `releases` (`state`);