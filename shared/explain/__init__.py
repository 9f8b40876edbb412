"""Why a model decided: heat maps of any task's score (`explainer`) and the report sections that show
them (`sections`)."""
