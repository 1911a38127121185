CREATE TABLE `reg_blobs` (
	`digest` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `reg_manifest_refs` (
	`repo` text NOT NULL,
	`parent` text NOT NULL,
	`child` text NOT NULL,
	`kind` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reg_manifest_refs_pk` ON `reg_manifest_refs` (`repo`,`parent`,`child`,`kind`);--> statement-breakpoint
CREATE INDEX `reg_manifest_refs_child` ON `reg_manifest_refs` (`child`);--> statement-breakpoint
CREATE TABLE `reg_manifests` (
	`repo` text NOT NULL,
	`digest` text NOT NULL,
	`media_type` text NOT NULL,
	`size` integer NOT NULL,
	`artifact_type` text,
	`subject` text,
	`annotations` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reg_manifests_pk` ON `reg_manifests` (`repo`,`digest`);--> statement-breakpoint
CREATE INDEX `reg_manifests_subject` ON `reg_manifests` (`repo`,`subject`);--> statement-breakpoint
CREATE INDEX `reg_manifests_digest` ON `reg_manifests` (`digest`);--> statement-breakpoint
CREATE TABLE `reg_repo_blobs` (
	`repo` text NOT NULL,
	`digest` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reg_repo_blobs_pk` ON `reg_repo_blobs` (`repo`,`digest`);--> statement-breakpoint
CREATE INDEX `reg_repo_blobs_digest` ON `reg_repo_blobs` (`digest`);--> statement-breakpoint
CREATE TABLE `reg_tags` (
	`repo` text NOT NULL,
	`tag` text NOT NULL,
	`digest` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reg_tags_pk` ON `reg_tags` (`repo`,`tag`);--> statement-breakpoint
CREATE INDEX `reg_tags_digest` ON `reg_tags` (`repo`,`digest`);--> statement-breakpoint
CREATE TABLE `reg_uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`repo` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
