package api

import "testing"

func TestWithoutStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, stage, expected string
	}{
		{"NamedStage", "/prod/v1/imports", "prod", "/v1/imports"},
		{"StageRoot", "/prod", "prod", "/"},
		// A custom domain's API mapping sends paths without the stage.
		{"NoStageInPath", "/v1/imports", "prod", "/v1/imports"},
		// Only a whole path segment is the stage.
		{"LongerSegment", "/production/v1/imports", "prod", "/production/v1/imports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := withoutStage(tt.path, tt.stage); got != tt.expected {
				t.Errorf("withoutStage(%q, %q) = %q, want %q", tt.path, tt.stage, got, tt.expected)
			}
		})
	}
}
